// Command benchcmd runs one whole-program measurement of the site build, so
// its peak memory can be read with /usr/bin/time -v:
//
//	go build -o /tmp/benchcmd ./site/internal/benchcmd
//	/tmp/benchcmd -gen /tmp/corpus10k -records 10000            # once
//	/tmp/benchcmd -mode floor-project -corpus /tmp/corpus10k        # once
//	/usr/bin/time -v /tmp/benchcmd -mode floor -corpus /tmp/corpus10k
//	/usr/bin/time -v /tmp/benchcmd -mode build -corpus /tmp/corpus10k
//	/tmp/benchcmd -mode rebuild -corpus /tmp/corpus10k
//
// -mode build loads the corpus with package content and builds the site, as
// `backstory build` does; -mode floor builds the same number of plain pages
// with a one-template Hugo theme; -mode rebuild measures a preview rebuild
// after one record changed.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime/pprof"
	"sort"
	"time"

	"github.com/backstory-dev/backstory/content"
	"github.com/backstory-dev/backstory/site"
)

func main() {
	var (
		gen     = flag.String("gen", "", "generate a corpus into this folder and exit")
		records = flag.Int("records", 1000, "records to generate")
		repos   = flag.Int("repos", 50, "repositories to generate")
		mode    = flag.String("mode", "build", "build, floor-project, floor or rebuild")
		corpus  = flag.String("corpus", "", "generated corpus folder")
		out     = flag.String("o", "", "output folder (default: a temp folder)")
		cpuprof = flag.String("cpuprofile", "", "write a CPU profile to this file")
	)
	flag.Parse()
	if *cpuprof != "" {
		f, err := os.Create(*cpuprof)
		if err != nil {
			fmt.Fprintln(os.Stderr, "benchcmd:", err)
			os.Exit(1)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, "benchcmd:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	if err := run(*gen, *records, *repos, *mode, *corpus, *out); err != nil {
		fmt.Fprintln(os.Stderr, "benchcmd:", err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

func run(gen string, records, repos int, mode, corpus, out string) error {
	if gen != "" {
		return site.GenerateCorpus(gen, records, repos)
	}
	if corpus == "" {
		return fmt.Errorf("-corpus or -gen is required")
	}
	if out == "" {
		tmp, err := os.MkdirTemp("", "benchcmd-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		out = filepath.Join(tmp, "public")
	}
	start := time.Now()
	switch mode {
	case "floor-project":
		_, err := site.WriteFloorProject(corpus, floorProject(corpus))
		return err
	case "floor":
		// The plain project is written beforehand (-mode floor-project),
		// so the measured run is Hugo's build alone.
		project := floorProject(corpus)
		if _, err := os.Stat(project); err != nil {
			return fmt.Errorf("no plain project at %s: run -mode floor-project first", project)
		}
		d, err := site.BuildFloor(project, out)
		if err != nil {
			return err
		}
		fmt.Printf("floor: built %s in %s\n", project, d.Round(time.Millisecond))
	case "build":
		rs, err := openRepos(corpus)
		if err != nil {
			return err
		}
		c := content.Load(rs)
		loaded := time.Since(start)
		res, err := site.Build(context.Background(), c, site.Options{OutputDir: out})
		if err != nil {
			return err
		}
		for _, w := range res.Warnings {
			fmt.Fprintln(os.Stderr, "warning:", w)
		}
		if broken := site.CheckLinks(out); len(broken) > 0 {
			for _, b := range broken {
				fmt.Fprintln(os.Stderr, "broken link:", b)
			}
			return fmt.Errorf("%d broken links", len(broken))
		}
		fmt.Printf("build: %d records in %s (load %s, generate %s, render %s)\n", res.Records,
			time.Since(start).Round(time.Millisecond), loaded.Round(time.Millisecond),
			res.Generate.Round(time.Millisecond), res.Render.Round(time.Millisecond))
	case "rebuild":
		rs, err := openRepos(corpus)
		if err != nil {
			return err
		}
		full, one, ph, err := site.MeasureRebuildPhases(rs, filepath.Dir(out))
		if err != nil {
			return err
		}
		fmt.Printf("rebuild: first build %s, rebuild after one change %s (load %s, generate %s, render %s), then opening the stale timeline %s\n",
			full.Round(time.Millisecond), one.Round(time.Millisecond),
			ph.Load.Round(time.Millisecond), ph.Generate.Round(time.Millisecond), ph.Render.Round(time.Millisecond),
			ph.OpenStaleList.Round(time.Millisecond))
	default:
		return fmt.Errorf("unknown mode %q", mode)
	}
	return nil
}

// floorProject is where the plain Hugo project for a corpus is written.
func floorProject(corpus string) string { return filepath.Clean(corpus) + ".floor" }

func openRepos(dir string) ([]*content.Repo, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	var rs []*content.Repo
	for _, n := range names {
		r, err := content.OpenRepo("bench/" + n + "=" + filepath.Join(dir, n))
		if err != nil {
			return nil, err
		}
		rs = append(rs, r)
	}
	return rs, nil
}
