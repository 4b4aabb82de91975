// Command prog prints what buildinfo says of itself, for the package's test.
package main

import (
	"fmt"

	"github.com/spur-forensics/spur/internal/buildinfo"
)

func main() {
	v, c := buildinfo.Module()
	fmt.Println(buildinfo.Version() + "|" + v + "|" + c)
}
