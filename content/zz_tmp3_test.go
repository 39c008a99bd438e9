package content

import (
	"os"
	"testing"
)

func TestTmpOne(t *testing.T) {
	data := rep("", os.Getenv("UNIT"), 128<<10)
	Parse(fuzzRepo, "docs/decisions/0001-x.md", data)
}
