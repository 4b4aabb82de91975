package label

import (
	"archive/zip"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// An OpenDocument spreadsheet (.ods) is a zip archive whose content.xml
// holds the sheets as table:table-row elements of table:table-cell
// elements. The UK Sanctions List is published as one; its content.xml is
// over 600 MB (every row padded to 16,384 columns, every sheet to a million
// rows, all as "repeated" attributes), so it is streamed a row at a time
// rather than loaded. Only what a sanctions list uses is read: the cells'
// text as the spreadsheet shows it (dates as written, not their ISO
// value), of the first sheet.

const (
	odsMime     = "application/vnd.oasis.opendocument.spreadsheet"
	odsTableNS  = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
	odsTextNS   = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
	odsMaxCells = 1024 // columns kept per row; the lists use fewer than 100
	// odsMaxRows is a spreadsheet's most rows (OpenDocument's and Excel's
	// 1,048,576): more, as a row repeated a billion times, is no list.
	odsMaxRows = 1 << 20
	// odsMaxCell bounds a cell's text: the lists' longest (a statement of
	// reasons) run to a few thousand bytes.
	odsMaxCell = 1 << 20
)

// odsRows reads the first sheet of the spreadsheet at path, calling fn with
// each row's cells (trailing empty cells dropped) and its row number (1 for
// the sheet's first row). Empty rows are passed over. fn's error stops the
// read and is returned as is.
func odsRows(path string, fn func(row int, cells []string) error) error {
	z, err := zip.OpenReader(path)
	if err != nil {
		return fmt.Errorf("%w: %s: not an OpenDocument spreadsheet: %v", ErrMalformed, path, err)
	}
	defer z.Close()
	var content *zip.File
	mime := ""
	for _, f := range z.File {
		switch f.Name {
		case "content.xml":
			content = f
		case "mimetype":
			b, err := readZipFile(f, 256)
			if err != nil {
				return fmt.Errorf("%w: %s: mimetype: %v", ErrMalformed, path, err)
			}
			mime = strings.TrimSpace(string(b))
		}
	}
	if mime != odsMime || content == nil {
		return fmt.Errorf("%w: %s: not an OpenDocument spreadsheet (mimetype %q, content.xml present: %t)", ErrMalformed, path, mime, content != nil)
	}
	rc, err := content.Open()
	if err != nil {
		return fmt.Errorf("%w: %s: content.xml: %v", ErrMalformed, path, err)
	}
	defer rc.Close()
	d := xml.NewDecoder(rc)
	fail := func(err error) error {
		line, _ := d.InputPos()
		return fmt.Errorf("%w: %s: content.xml line %d: %v", ErrMalformed, path, line, err)
	}
	var (
		tables              int
		row                 int // rows of the sheet so far
		delivered           int // rows with something in them, given to fn
		rowRepeat           int
		cells               []string
		cell                strings.Builder
		inCell              bool
		cellRepeat, paras   int
		inTable, sheetEnded bool
		inNote              int                   // depth inside an office:annotation or a subtable, whose text is no cell's
		prefix              = map[string]string{} // namespace prefix -> name, from the root
	)
	// RawToken leaves names unresolved (it is much the faster); the
	// prefixes are the root element's declarations.
	is := func(n xml.Name, space, local string) bool {
		return n.Local == local && prefix[n.Space] == space
	}
	for !sheetEnded {
		tok, err := d.RawToken()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fail(err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if len(prefix) == 0 {
				for _, a := range t.Attr {
					if a.Name.Space == "xmlns" {
						prefix[a.Name.Local] = a.Value
					}
				}
			}
			switch {
			case inNote > 0 || t.Name.Local == "annotation" || inCell && is(t.Name, odsTableNS, "table"):
				// A note, or a table in a cell (a subtable), is no part of
				// the sheet's cells.
				inNote++
			case is(t.Name, odsTableNS, "table"):
				tables++
				inTable = tables == 1
			case !inTable:
			case is(t.Name, odsTableNS, "table-row"):
				cells = nil
				rowRepeat = repeatAttr(t, "number-rows-repeated")
			case is(t.Name, odsTableNS, "table-cell") || is(t.Name, odsTableNS, "covered-table-cell"):
				inCell, paras = true, 0
				cell.Reset()
				cellRepeat = repeatAttr(t, "number-columns-repeated")
			case !inCell:
			case is(t.Name, odsTextNS, "p"):
				if paras > 0 {
					cell.WriteByte('\n')
				}
				paras++
			case is(t.Name, odsTextNS, "s"):
				if cell.WriteString(strings.Repeat(" ", min(repeatAttr(t, "c"), 1024))); cell.Len() > odsMaxCell {
					return fail(fmt.Errorf("a cell of more than %d bytes", odsMaxCell))
				}
			case is(t.Name, odsTextNS, "tab"):
				cell.WriteByte('\t')
			case is(t.Name, odsTextNS, "line-break"):
				cell.WriteByte('\n')
			}
		case xml.CharData:
			if inCell && paras > 0 && inNote == 0 {
				if cell.Len()+len(t) > odsMaxCell {
					return fail(fmt.Errorf("a cell of more than %d bytes", odsMaxCell))
				}
				cell.Write(t)
			}
		case xml.EndElement:
			if inNote > 0 {
				inNote--
				continue
			}
			switch {
			case !inTable:
			case is(t.Name, odsTableNS, "table-cell") || is(t.Name, odsTableNS, "covered-table-cell"):
				if inCell {
					inCell = false
					v := cell.String()
					for i := 0; i < cellRepeat && len(cells) < odsMaxCells; i++ {
						cells = append(cells, v)
					}
				}
			case is(t.Name, odsTableNS, "table-row"):
				for len(cells) > 0 && strings.TrimSpace(cells[len(cells)-1]) == "" {
					cells = cells[:len(cells)-1]
				}
				if len(cells) == 0 {
					row += rowRepeat
					continue
				}
				if delivered += rowRepeat; delivered > odsMaxRows {
					return fail(fmt.Errorf("more than %d rows with something in them", odsMaxRows))
				}
				for i := 0; i < rowRepeat; i++ {
					row++
					if err := fn(row, cells); err != nil {
						return err
					}
				}
			case is(t.Name, odsTableNS, "table"):
				sheetEnded = true
			}
		}
	}
	if tables == 0 {
		return fmt.Errorf("%w: %s: the spreadsheet has no sheet", ErrMalformed, path)
	}
	if !sheetEnded {
		return fail(errors.New("the first sheet does not end"))
	}
	return nil
}

// repeatAttr reads a table:number-*-repeated or text:c count, 1 when absent.
func repeatAttr(e xml.StartElement, name string) int {
	for _, a := range e.Attr {
		if a.Name.Local == name {
			if n, err := strconv.Atoi(a.Value); err == nil && n > 0 {
				return n
			}
		}
	}
	return 1
}

func readZipFile(f *zip.File, max int64) ([]byte, error) {
	rc, err := f.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(io.LimitReader(rc, max))
}
