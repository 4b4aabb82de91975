package main

import (
	"os"

	"github.com/spf13/cobra"

	"github.com/spur-forensics/spur/internal/buildinfo"
	"github.com/spur-forensics/spur/internal/evmstore"
	"github.com/spur-forensics/spur/internal/store"
)

// versionView is what spur version prints: the spur, its Go, and the
// store formats it writes (a store of another is refused, saying so).
type versionView struct {
	Spur          string `json:"spur"`
	Go            string `json:"go"`
	BitcoinFormat int    `json:"bitcoin_store_format"`
	EVMFormat     int    `json:"evm_store_format"`
}

func newVersion() *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "version",
		Short: "Show which spur this is, and the store formats it writes",
		Long: `Prints spur's version (a release's, or the pseudo-version of the commit
it was built from, as the Go toolchain recorded it), the Go it was built
with, and the versions of the store formats it writes. Reports name the
same spur in their "How this report was made" section.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			v := versionView{buildinfo.Version(), buildinfo.GoVersion(), store.FormatVersion, evmstore.FormatVersion}
			if asJSON {
				return printJSON(os.Stdout, v)
			}
			t := newTable(os.Stdout)
			t.row("spur", v.Spur)
			t.row("go", v.Go)
			t.row("bitcoin store format", v.BitcoinFormat)
			t.row("evm store format", v.EVMFormat)
			t.flush()
			return nil
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of text")
	return c
}
