package evm

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/ethereum/go-ethereum/common"
	"github.com/holiman/uint256"
)

// CallFrame is one frame of geth's callTracer output.
type CallFrame struct {
	Type    string          `json:"type"`
	From    *common.Address `json:"from"`
	To      *common.Address `json:"to"`
	Value   *hexBig         `json:"value"`
	Gas     *hexU64         `json:"gas"`
	GasUsed *hexU64         `json:"gasUsed"`
	Error   string          `json:"error"`
	Calls   []CallFrame     `json:"calls"`
}

// FlattenCallFrames turns the callTracer frames of one transaction into
// traces in ethereum-etl's order and naming (depth first, each frame before
// its callees; CALL/DELEGATECALL/... become call with a call type;
// SELFDESTRUCT becomes suicide).
func FlattenCallFrames(txIndex int32, top *CallFrame) []Trace {
	var out []Trace
	var walk func(f *CallFrame, addr []int)
	walk = func(f *CallFrame, addr []int) {
		t := Trace{TxIndex: txIndex, Subtraces: len(f.Calls), Address: addr, Error: f.Error}
		if f.From != nil {
			t.From = *f.From
		}
		if f.To != nil {
			t.To = *f.To
		}
		if f.Value != nil {
			t.Value = uint256.Int(*f.Value)
		}
		if f.Gas != nil {
			t.Gas = uint64(*f.Gas)
		}
		if f.GasUsed != nil {
			t.GasUsed = uint64(*f.GasUsed)
		}
		typ := strings.ToLower(f.Type)
		switch typ {
		case "selfdestruct":
			typ = "suicide"
		case "call", "callcode", "delegatecall", "staticcall":
			t.CallType = typ
			typ = "call"
		}
		t.Type = typ
		out = append(out, t)
		for i := range f.Calls {
			walk(&f.Calls[i], append(addr[:len(addr):len(addr)], i))
		}
	}
	walk(top, []int{})
	return out
}

// ParityTrace is one entry of trace_block (OpenEthereum/Erigon/Nethermind).
type ParityTrace struct {
	Action struct {
		From          *common.Address `json:"from"`
		To            *common.Address `json:"to"`
		Value         *hexBig         `json:"value"`
		Gas           *hexU64         `json:"gas"`
		CallType      string          `json:"callType"`
		Address       *common.Address `json:"address"`       // suicide
		RefundAddress *common.Address `json:"refundAddress"` // suicide
		Balance       *hexBig         `json:"balance"`       // suicide
		Author        *common.Address `json:"author"`        // reward
		RewardType    string          `json:"rewardType"`
	} `json:"action"`
	Result *struct {
		GasUsed *hexU64         `json:"gasUsed"`
		Address *common.Address `json:"address"` // create
	} `json:"result"`
	Error               string  `json:"error"`
	Subtraces           int     `json:"subtraces"`
	TraceAddress        []int   `json:"traceAddress"`
	TransactionPosition *uint32 `json:"transactionPosition"`
	Type                string  `json:"type"`
}

// Trace maps a trace_block entry as ethereum-etl's trace mapper does.
func (p *ParityTrace) Trace() Trace {
	t := Trace{TxIndex: NoTx, Type: p.Type, Subtraces: p.Subtraces, Address: p.TraceAddress, Error: p.Error}
	if t.Address == nil {
		t.Address = []int{}
	}
	if p.TransactionPosition != nil {
		t.TxIndex = int32(*p.TransactionPosition)
	}
	a := &p.Action
	set := func(dst *common.Address, src *common.Address) {
		if src != nil {
			*dst = *src
		}
	}
	val := func(v *hexBig) {
		if v != nil {
			t.Value = uint256.Int(*v)
		}
	}
	if a.Gas != nil {
		t.Gas = uint64(*a.Gas)
	}
	if p.Result != nil && p.Result.GasUsed != nil {
		t.GasUsed = uint64(*p.Result.GasUsed)
	}
	switch p.Type {
	case "call":
		set(&t.From, a.From)
		set(&t.To, a.To)
		val(a.Value)
		t.CallType = a.CallType
	case "create":
		set(&t.From, a.From)
		if p.Result != nil {
			set(&t.To, p.Result.Address)
		}
		val(a.Value)
	case "suicide":
		set(&t.From, a.Address)
		set(&t.To, a.RefundAddress)
		val(a.Balance)
	case "reward":
		set(&t.To, a.Author)
		val(a.Value)
		t.RewardType = a.RewardType
	}
	return t
}

// hexU64 and hexBig read JSON-RPC's 0x-prefixed quantities.
type hexU64 uint64

func (h *hexU64) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := parseHexU64(s)
	*h = hexU64(v)
	return err
}

type hexBig uint256.Int

func (h *hexBig) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := parseHexBig(s)
	if err != nil {
		return err
	}
	*h = hexBig(v)
	return nil
}

func parseHexU64(s string) (uint64, error) {
	v, err := parseHexBig(s)
	if err != nil {
		return 0, err
	}
	if !v.IsUint64() {
		return 0, fmt.Errorf("quantity %s overflows 64 bits", s)
	}
	return v.Uint64(), nil
}

func parseHexBig(s string) (uint256.Int, error) {
	var v uint256.Int
	if s == "0x" || s == "0x0" {
		return v, nil
	}
	if !strings.HasPrefix(s, "0x") && !strings.HasPrefix(s, "0X") {
		return v, fmt.Errorf("quantity %q is not 0x-prefixed hex", s)
	}
	err := v.SetFromHex(s)
	if err != nil {
		// SetFromHex refuses leading zeros, which some nodes send.
		t := strings.TrimLeft(s[2:], "0")
		if t == "" {
			return v, nil
		}
		if err2 := v.SetFromHex("0x" + t); err2 != nil {
			return v, fmt.Errorf("quantity %q: %v", s, err)
		}
	}
	return v, nil
}
