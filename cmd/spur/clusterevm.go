package main

import (
	"fmt"
	"os"
	"sort"

	"github.com/spf13/cobra"

	"github.com/spur-forensics/spur/internal/cluster"
	"github.com/spur-forensics/spur/internal/evmstore"
	"github.com/spur-forensics/spur/internal/label"
	"github.com/spur-forensics/spur/internal/query"
)

// evmClusterFlags are the account-chain heuristics of spur cluster/entity.
type evmClusterFlags struct {
	deposits, reuse, airdrop bool
	// pass is what the heuristics read of the transfers so far: a
	// follower making the entities at each sync reads only its blocks.
	pass cluster.EVMPass
}

func (f *evmClusterFlags) run(sf *storeFlags, chain string) (*evmstore.Store, *cluster.EVMClusters, map[uint32]string, error) {
	if !f.any() {
		return nil, nil, nil, usagef("on an EVM chain, pick the heuristics: --deposits, --deposit-reuse, --airdrop")
	}
	s, err := openEVM(sf, chain, evmRead)
	if err != nil {
		return nil, nil, nil, err
	}
	labels, err := openLabels(sf.dir)
	if err != nil {
		s.Close()
		return nil, nil, nil, err
	}
	c, hot, err := f.cluster(s, labels)
	labels.Close()
	if err != nil {
		s.Close()
		return nil, nil, nil, err
	}
	return s, c, hot, nil
}

// cluster runs the heuristics over s, the exchanges' hot wallets (by
// number, with their names) those of the labels.
func (f *evmClusterFlags) cluster(s *evmstore.Store, labels *label.Store) (*cluster.EVMClusters, map[uint32]string, error) {
	hot, err := query.EVMHotWallets(s, labels)
	if err != nil {
		return nil, nil, err
	}
	hotSet := map[uint32]bool{}
	for a := range hot {
		hotSet[a] = true
	}
	return f.pass.Cluster(s, cluster.EVMOptions{Deposits: f.deposits, DepositReuse: f.reuse, Airdrop: f.airdrop, Hot: hotSet}), hot, nil
}

// alertEntities makes the entities of s by the heuristics picked, for
// alerts by entity (query.NewEVMEntities); nil when none is picked.
func (f *evmClusterFlags) alertEntities(s *evmstore.Store, labels *label.Store, chain string, watch func(string) bool) (*query.EVMEntities, error) {
	if !f.any() {
		return nil, nil
	}
	ec, _, err := f.cluster(s, labels)
	if err != nil {
		return nil, err
	}
	return query.NewEVMEntities(s, labels, chain, ec, watch)
}

// register adds the heuristics' flags to c.
func (f *evmClusterFlags) register(c *cobra.Command) {
	c.Flags().BoolVar(&f.deposits, "deposits", false, "EVM: join exchange deposit addresses to their exchange (a heuristic)")
	c.Flags().BoolVar(&f.reuse, "deposit-reuse", false, "EVM: join the addresses that pay into one deposit address (a heuristic)")
	c.Flags().BoolVar(&f.airdrop, "airdrop", false, "EVM: join airdrop claimants that pass the token to one collector, with it (a heuristic)")
}

// any says whether a heuristic is picked.
func (f *evmClusterFlags) any() bool { return f.deposits || f.reuse || f.airdrop }

type evmClusterView struct {
	Chain            string         `json:"chain"`
	Heuristics       []string       `json:"heuristics"`
	Addresses        uint64         `json:"addresses"`
	Entities         int            `json:"entities"`
	Merges           int            `json:"merges"`
	DepositReuse     int            `json:"deposit_reuse_merges"`
	Airdrop          int            `json:"airdrop_merges"`
	DepositAddresses int            `json:"deposit_addresses"`
	ByExchange       map[string]int `json:"deposit_addresses_by_exchange"`
	LabelledHot      int            `json:"labelled_hot_wallets"`
}

func evmCluster(sf *storeFlags, chain string, f *evmClusterFlags) error {
	s, c, hot, err := f.run(sf, chain)
	if err != nil {
		return err
	}
	defer s.Close()
	v := evmClusterView{Chain: chain, Addresses: s.Counts().Addrs, Merges: c.Merges, DepositReuse: c.ReuseMerges, Airdrop: c.AirdropMerges,
		DepositAddresses: len(c.Deposits), ByExchange: map[string]int{}, LabelledHot: len(hot)}
	if f.deposits {
		v.Heuristics = append(v.Heuristics, "deposits")
	}
	if f.reuse {
		v.Heuristics = append(v.Heuristics, "deposit-reuse")
	}
	if f.airdrop {
		v.Heuristics = append(v.Heuristics, "airdrop")
	}
	v.Entities = int(v.Addresses) - c.Merges
	for _, h := range c.Deposits {
		name := hot[h]
		if name == "" {
			name = s.Address(h).Hex() + " (unlabelled)"
		}
		v.ByExchange[name]++
	}
	if sf.json {
		return printJSON(os.Stdout, v)
	}
	t := newTable(os.Stdout)
	t.row("heuristics (account chains; each a heuristic)", fmt.Sprint(v.Heuristics))
	t.row("addresses", thousands(int64(v.Addresses)))
	t.row("entities", thousands(int64(v.Entities)))
	t.row("merges (by deposit reuse, by airdrop)", fmt.Sprintf("%s (%s, %s)", thousands(int64(v.Merges)), thousands(int64(v.DepositReuse)), thousands(int64(v.Airdrop))))
	t.row("deposit addresses", thousands(int64(v.DepositAddresses)))
	names := make([]string, 0, len(v.ByExchange))
	for k := range v.ByExchange {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		t.row("  of "+k, v.ByExchange[k])
	}
	t.flush()
	return nil
}

type evmEntityView struct {
	Address   string   `json:"address"`
	Entity    string   `json:"entity"` // the entity's lowest-numbered address
	Size      int      `json:"size"`
	DepositOf string   `json:"deposit_of,omitempty"` // the hot wallet it forwards to
	Exchange  string   `json:"exchange,omitempty"`
	Members   []string `json:"members"`
}

func evmEntity(sf *storeFlags, chain, ref string, f *evmClusterFlags, offset, limit int) error {
	a, err := evmstore.ParseAddress(ref)
	if err != nil {
		return usageError{err}
	}
	s, c, hot, err := f.run(sf, chain)
	if err != nil {
		return err
	}
	defer s.Close()
	n, err := s.AddrNum(a)
	if err != nil {
		return err
	}
	ms := c.Members(n)
	v := evmEntityView{Address: a.Hex(), Entity: s.Address(c.Entity(n)).Hex(), Size: len(ms), Members: []string{}}
	if h, ok := c.Deposits[n]; ok {
		v.DepositOf, v.Exchange = s.Address(h).Hex(), hot[h]
	}
	for i := offset; i < len(ms) && i < offset+limit; i++ {
		v.Members = append(v.Members, s.Address(ms[i]).Hex())
	}
	if sf.json {
		return printJSON(os.Stdout, v)
	}
	t := newTable(os.Stdout)
	t.row("address", v.Address)
	t.row("entity", v.Entity)
	t.row("size", v.Size)
	if v.DepositOf != "" {
		t.row("deposit address of", fmt.Sprintf("%s %s", v.DepositOf, v.Exchange))
	}
	t.flush()
	fmt.Println()
	for i, m := range v.Members {
		fmt.Printf("%6d  %s\n", offset+i, m)
	}
	return nil
}
