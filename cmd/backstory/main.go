// Command backstory keeps the why of an engineering organisation: it reads
// decision records, intents, processes and values in every format, lints
// them, answers "why is this code like this?", and builds them into a site.
//
// This package is wiring only: the work happens in content and site.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"
)

// version is set at link time (-ldflags "-X main.version=…").
var version = "dev"

// exitError carries an exit status without printing anything more: the
// command has already said what went wrong.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes one backstory command line and returns its exit status, so
// tests can drive the whole CLI in-process.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := newRootCommand(stdin, stdout, stderr)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	var ee exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	fmt.Fprintf(stderr, "backstory: %v\n", err)
	return 1
}

// cli holds what every subcommand shares.
type cli struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	config *viper.Viper
	// sections maps a command's flags to the config section they set, bound
	// only for the command that runs (two commands may share a key).
	sections map[*cobra.Command]map[string]string
}

func newRootCommand(stdin io.Reader, stdout, stderr io.Writer) *cobra.Command {
	v := viper.New()
	v.SetEnvPrefix("BACKSTORY")
	v.SetEnvKeyReplacer(strings.NewReplacer(".", "_", "-", "_"))
	v.AutomaticEnv()
	c := &cli{stdin: stdin, stdout: stdout, stderr: stderr, config: v, sections: map[*cobra.Command]map[string]string{}}

	root := &cobra.Command{
		Use:   "backstory",
		Short: "The story of why your code is the way it is",
		Long: `backstory reads decision records, intents, processes and values in every
format teams already use (native, Nygard/adr-tools, MADR, log4brains, …), checks
them, answers "why is this code like this?", and builds them into a site.

Start with:  backstory preview     (build and serve the records in this repository)`,
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			for name, section := range c.sections[cmd] {
				key := section + "." + strings.ReplaceAll(name, "-", "_")
				if err := c.config.BindPFlag(key, cmd.Flags().Lookup(name)); err != nil {
					return err
				}
			}
			return nil
		},
	}
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(
		c.buildCommand(),
		c.previewCommand(),
		c.exportCommand(),
		c.lintCommand(),
		c.whyCommand(),
		c.newCommand(),
		c.serveCommand(),
		c.setupCommand(),
		c.checkCommand(),
		c.doctorCommand(),
		c.deliveriesCommand(),
		c.replayCommand(),
		c.resyncCommand(),
		c.recheckCommand(),
	)
	return root
}

// bindFlags lets each flag of cmd defined so far also come from the
// environment, as BACKSTORY_<SECTION>_<NAME>.
func (c *cli) bindFlags(cmd *cobra.Command, section string) {
	if c.sections[cmd] == nil {
		c.sections[cmd] = map[string]string{}
	}
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if _, ok := c.sections[cmd][f.Name]; !ok {
			c.sections[cmd][f.Name] = section
		}
	})
}
