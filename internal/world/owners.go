package world

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
)

// ownerLog holds "address -> owner" records in a temporary file while the
// world is generated, so that memory does not grow with the number of
// addresses (tens of millions at the largest scales); writeTruth copies
// them into truth.json in the order they were made.
type ownerLog struct {
	f   *os.File
	w   *bufio.Writer
	n   int
	err error
	buf []byte
}

func newOwnerLog(dir, name string) (*ownerLog, error) {
	f, err := os.CreateTemp(dir, name+"-*.tmp")
	if err != nil {
		return nil, fmt.Errorf("world: %w", err)
	}
	return &ownerLog{f: f, w: bufio.NewWriterSize(f, 1<<20)}, nil
}

func (l *ownerLog) add(addr string, owner int) {
	if l.err != nil {
		return
	}
	l.n++
	l.buf = append(append(append(l.buf[:0], addr...), ' '), strconv.Itoa(owner)...)
	l.buf = append(l.buf, '\n')
	_, l.err = l.w.Write(l.buf)
}

// writeJSON writes the records as the members of a JSON object, one per
// line at truth.json's indent: `  "ADDR": OWNER`, comma-separated.
func (l *ownerLog) writeJSON(w *bufio.Writer) error {
	if l.err != nil {
		return fmt.Errorf("world: %s: %w", l.f.Name(), l.err)
	}
	if err := l.w.Flush(); err != nil {
		return fmt.Errorf("world: %s: %w", l.f.Name(), err)
	}
	if _, err := l.f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("world: %s: %w", l.f.Name(), err)
	}
	r := bufio.NewReaderSize(l.f, 1<<20)
	for i := 0; ; i++ {
		line, err := r.ReadSlice('\n')
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("world: %s: %w", l.f.Name(), err)
		}
		addr, owner, _ := bytes.Cut(line[:len(line)-1], []byte{' '})
		if i > 0 {
			w.WriteString(",\n")
		}
		w.WriteString(`  "`)
		w.Write(addr) // base58, bech32 or hex: nothing to escape
		w.WriteString(`": `)
		w.Write(owner)
	}
}

// close removes the temporary file.
func (l *ownerLog) close() {
	l.f.Close()
	os.Remove(l.f.Name())
}

// write writes truth.json: the fields held in memory, then the two address
// maps streamed from their logs.
func (t *Truth) write(w *bufio.Writer) error {
	b, err := json.MarshalIndent(t, "", " ")
	if err != nil {
		return err
	}
	// Reopen the object after its last member.
	b = bytes.TrimSuffix(bytes.TrimRight(b, "\n"), []byte("}"))
	b = bytes.TrimRight(b, "\n")
	w.Write(b)
	for _, m := range []struct {
		name string
		log  *ownerLog
	}{{"addresses", t.addrs}, {"evm_addresses", t.evmAddrs}} {
		fmt.Fprintf(w, ",\n %q: {\n", m.name)
		if err := m.log.writeJSON(w); err != nil {
			return err
		}
		w.WriteString("\n }")
	}
	_, err = w.WriteString("\n}\n")
	return err
}
