package ingest

import (
	"context"
	"os"
	"runtime/pprof"
	"testing"
	"time"

	"github.com/spur-forensics/spur/internal/btc"
	"github.com/spur-forensics/spur/internal/store"
)

func TestZZProf(t *testing.T) {
	dir := t.TempDir()
	net, _ := btc.LookupNetwork("regtest")
	s, err := store.Open(dir, store.Options{Network: net})
	if err != nil {
		t.Fatal(err)
	}
	f, _ := os.Create("/tmp/ing.prof")
	pprof.StartCPUProfile(f)
	start := time.Now()
	st, err := Files(context.Background(), s, []string{"/tmp/syn800"}, Options{})
	pprof.StopCPUProfile()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v %v", st, time.Since(start))
	s.Close()
}
