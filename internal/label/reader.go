package label

// Reader is what tracing, screening and reports read of the labels: an
// address's labels, a filtered list of them, the actors' aliases, the
// incidents and the daily prices. *Store, the label database on this
// machine, is one; labels kept elsewhere (beside a chain on ClickHouse)
// would be another, without a change to the code that reads through this.
type Reader interface {
	Lookup(addr string) ([]Label, error)
	LookupKey(key string) ([]Label, error)
	Mistyped(addr string) error
	List(f Filter, fn func(Label) error) error
	AliasOf(name string) ([]Entity, error)
	Incidents() ([]Incident, error)
	Price(asset, day string) (float64, bool)
	LastPrice(asset string) (day string, usd float64, ok bool)
	// Sources lists the sources imported, each with the day its list
	// says it is of.
	Sources() ([]SourceInfo, error)
}

var _ Reader = (*Store)(nil)
