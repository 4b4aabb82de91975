package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestClusterEntityScreen(t *testing.T) {
	store := filepath.Join(t.TempDir(), "store")
	mustRun(t, "ingest", "btc", "--store", store, "--blocks", sample("blk_0_to_14131.dat.bz2"), "-q")
	if r := run(t, "entity", "1", "--store", store); r.code != exitNotFound || !strings.Contains(r.stderr, "spur cluster") {
		t.Fatalf("entity before clustering: exit %d %s", r.code, r.stderr)
	}
	var st struct {
		Entities  int    `json:"entities"`
		Largest   int    `json:"largest_entity_size"`
		LargestID uint32 `json:"largest_entity_id"`
	}
	if err := jsonUnmarshal(mustRun(t, "cluster", "--store", store, "--json"), &st); err != nil {
		t.Fatal(err)
	}
	if st.Largest < 2 || st.Entities == 0 {
		t.Fatalf("cluster: %+v", st)
	}
	var ent struct {
		ID        uint32   `json:"id"`
		Size      int      `json:"size"`
		Addresses []string `json:"addresses"`
	}
	if err := jsonUnmarshal(mustRun(t, "entity", fmt.Sprint(st.LargestID), "--store", store, "--json", "--limit", "2"), &ent); err != nil {
		t.Fatal(err)
	}
	if ent.Size != st.Largest || len(ent.Addresses) != 2 {
		t.Fatalf("largest entity: %+v", ent)
	}
	// Every member maps back to the same entity.
	var back struct {
		ID uint32 `json:"id"`
	}
	jsonUnmarshal(mustRun(t, "entity", ent.Addresses[1], "--store", store, "--json"), &back)
	if back.ID != ent.ID {
		t.Fatalf("member %s is in entity %d, not %d", ent.Addresses[1], back.ID, ent.ID)
	}
	// Its transactions page without overlap.
	var p1, p2 struct {
		Txs []struct {
			TxID string `json:"txid"`
		} `json:"txs"`
		More bool `json:"more"`
	}
	jsonUnmarshal(mustRun(t, "entity", fmt.Sprint(ent.ID), "--store", store, "--json", "--txs", "--limit", "3"), &p1)
	jsonUnmarshal(mustRun(t, "entity", fmt.Sprint(ent.ID), "--store", store, "--json", "--txs", "--limit", "3", "--offset", "3"), &p2)
	if len(p1.Txs) != 3 || !p1.More || len(p2.Txs) == 0 {
		t.Fatalf("transaction pages: %+v %+v", p1, p2)
	}
	for _, a := range p1.Txs {
		for _, b := range p2.Txs {
			if a.TxID == b.TxID {
				t.Fatalf("%s on both pages", a.TxID)
			}
		}
	}
	// A sanction on one member makes the others severe through the entity.
	csv := filepath.Join(t.TempDir(), "l.csv")
	os.WriteFile(csv, []byte("address,chain,category,label,actor,source\n"+ent.Addresses[0]+",btc,sanctioned,Listed wallet,,test\n"), 0o644)
	mustRun(t, "labels", "import", "--store", store, "--format", "csv", csv)
	var res []struct {
		Severity string `json:"severity"`
		Rule     string `json:"rule"`
		Entity   *struct {
			ID uint32 `json:"id"`
		} `json:"entity"`
	}
	jsonUnmarshal(mustRun(t, "screen", "--store", store, "--json", ent.Addresses[1]), &res)
	if len(res) != 1 || res[0].Severity != "severe" || res[0].Entity == nil || res[0].Entity.ID != ent.ID ||
		res[0].Rule != fmt.Sprintf("entity %d holds %s: sanctioned: Listed wallet (csv:l)", ent.ID, ent.Addresses[0]) {
		t.Fatalf("screen of a co-member: %+v", res)
	}
	// spur tx reports CoinJoin detection (none in these early blocks).
	if out := mustRun(t, "tx", "f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16", "--store", store, "--json"); !strings.Contains(out, `"coinjoin": null`) {
		t.Fatalf("tx: %s", out)
	}
}
