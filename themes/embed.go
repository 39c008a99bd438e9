// Package themes holds the Hugo themes that backstory renders sites with.
//
// The default theme lives in default/ as an ordinary Hugo theme (layouts,
// assets, static) and is compiled into the binary, so building a site needs
// nothing installed beside backstory.
package themes

import (
	"embed"
	"io/fs"
)

//go:embed all:default
var embedded embed.FS

// Default is the default theme, rooted at the theme directory: it holds
// layouts/, assets/ and static/ at its top level.
var Default fs.FS = mustSub(embedded, "default")

func mustSub(fsys fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(fsys, dir)
	if err != nil {
		// fs.Sub fails only on an invalid path, which is a constant here.
		panic(err)
	}
	return sub
}
