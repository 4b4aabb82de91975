package label

import "strings"

// categoryNames maps the names other label sources give a category to
// spur's: the concepts of GraphSense's taxonomy (the INTERPOL darknet and
// virtual assets taxonomy, in a TagPack's category and abuse fields),
// Etherscan's label slugs and Forta's tags. Risk comes first: a name an
// address is abused for maps to the category screening grades.
var categoryNames = map[string]string{
	"sanction": Sanctioned, "sanctions": Sanctioned, "ofac-sanctions-lists": Sanctioned,

	"service-hack": StolenFunds, "hack": StolenFunds, "hacker": StolenFunds, "hacked": StolenFunds,
	"theft": StolenFunds, "stolen": StolenFunds, "exploit": StolenFunds, "exploiter": StolenFunds,
	"heist": StolenFunds,

	"ransomware": Ransomware,

	"market": Darknet, "darknet": Darknet, "darknet-market": Darknet,

	"mixing-service": Mixer, "mixer": Mixer, "tumbler": Mixer, "coinjoin": Mixer, "tornado-cash": Mixer,

	"phishing": Scam, "phish-hack": Scam, "ponzi-scheme": Scam, "pyramid-scheme": Scam,
	"investment-fraud": Scam, "sextortion": Scam, "extortion": Scam, "fraud": Scam,

	"defi-dex": DEX, "defi-bridge": Bridge,
}

// Category returns spur's name for a category as a source writes it, in
// any case and with '_' or ' ' for '-': "mixing_service" is "mixer",
// "service_hack" "stolen-funds", "sanction" "sanctioned". Other names are
// kept, so written.
func Category(name string) string {
	n := strings.ToLower(strings.TrimSpace(name))
	n = strings.NewReplacer("_", "-", " ", "-").Replace(n)
	if c, ok := categoryNames[n]; ok {
		return c
	}
	return n
}

// riskOrder ranks the categories spur knows, riskiest first: an address
// labelled "exchange" and "heist" holds stolen funds.
var riskOrder = []string{Sanctioned, StolenFunds, Ransomware, Darknet, Mixer, Scam, Exchange, Bridge, DEX}

// RiskRank orders categories by risk: higher is riskier, 0 for a category
// spur does not rank (other, blocked, a project's name).
func RiskRank(category string) int {
	for i, c := range riskOrder {
		if c == category {
			return len(riskOrder) - i
		}
	}
	return 0
}
