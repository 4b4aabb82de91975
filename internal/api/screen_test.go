package api

import (
	"testing"

	"github.com/spur-forensics/spur/internal/label"
)

func TestSeverityRules(t *testing.T) {
	sanc := []label.Label{{Category: label.Sanctioned, Label: "X", Source: "s"}}
	cases := []struct {
		own              []label.Label
		direct, indirect []Exposure
		want             string
	}{
		{sanc, nil, nil, "severe"},
		{nil, []Exposure{{Category: label.Sanctioned, Share: 0.01}}, nil, "severe"},
		{[]label.Label{{Category: label.StolenFunds}}, nil, nil, "high"},
		{nil, []Exposure{{Category: label.StolenFunds, Share: 0.2}}, nil, "high"},
		{nil, nil, []Exposure{{Category: label.Sanctioned, Share: 0.06}}, "high"},
		{[]label.Label{{Category: label.Mixer}}, nil, []Exposure{{Category: label.Sanctioned, Share: 0.5}}, "high"},
		{nil, nil, []Exposure{{Category: label.Sanctioned, Share: 0.01}}, "medium"},
		{[]label.Label{{Category: label.Mixer}}, nil, nil, "medium"},
		{nil, []Exposure{{Category: label.Mixer, Share: 0.05}}, nil, "low"},
		{[]label.Label{{Category: label.Exchange}}, nil, nil, "low"},
	}
	for i, c := range cases {
		if got, rule := severity(c.own, nil, c.direct, c.indirect); got != c.want {
			t.Errorf("case %d: %s (%s), want %s", i, got, rule, c.want)
		}
	}
}
