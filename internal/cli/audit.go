package cli

import (
	"bufio"
	"fmt"
	"os"
	"strings"

	"gatehouse/internal/core"
)

func runAudit(env *Env, args []string) error {
	if len(args) == 0 {
		return usagef("use: gatehouse audit verify, or gatehouse audit export --format csv|jsonl")
	}
	switch args[0] {
	case "verify":
		return runAuditVerify(env, args[1:])
	case "export":
		return runAuditExport(env, args[1:])
	case "--help", "-h", "help":
		fmt.Fprintln(env.Stdout, "Usage:\n  gatehouse audit verify [--data DIR]\n  gatehouse audit export --format csv|jsonl [--since T] [--until T] [--output FILE] [--data DIR]")
		return nil
	}
	return usagef("unknown audit command %q", args[0])
}

func runAuditVerify(env *Env, args []string) error {
	f, err := parse(env, "audit verify", "audit verify [--data DIR]", args)
	if err != nil {
		return err
	}
	svc, closeDB, err := open(env, f.dataDir(env))
	if err != nil {
		return err
	}
	defer closeDB()
	rep, err := svc.DB().VerifyChain(func(n uint64) { fmt.Fprintf(env.Stderr, "checked %d events…\n", n) })
	if err != nil {
		return err
	}
	if !rep.OK {
		where := ""
		if rep.BrokenID != 0 {
			where = fmt.Sprintf(" at event %d (%s)", rep.BrokenID, rep.BrokenAt)
		}
		return fmt.Errorf("the audit log does not verify%s: %s (%d events checked before it)", where, rep.Problem, rep.Checked)
	}
	pruned := ""
	if rep.Pruned > 0 {
		pruned = fmt.Sprintf(", after %d older events removed by retention", rep.Pruned)
	}
	fmt.Fprintf(env.Stdout, "OK: %d audit events verify%s.\n", rep.Checked, pruned)
	return nil
}

func runAuditExport(env *Env, args []string) error {
	f := newFlags(env, "audit export", "audit export --format csv|jsonl [--since T] [--until T] [--output FILE] [--data DIR]")
	format := f.String("format", "", "csv or jsonl")
	since := f.String("since", "", "only events at or after this time (RFC 3339, or YYYY-MM-DD)")
	until := f.String("until", "", "only events before this time")
	output := f.String("output", "", "write to this file instead of standard output")
	if err := f.parse(args); err != nil {
		return err
	}
	if *format != core.FormatCSV && *format != core.FormatJSONL {
		return usagef("--format must be csv or jsonl")
	}
	svc, closeDB, err := open(env, f.dataDir(env))
	if err != nil {
		return err
	}
	defer closeDB()
	w := bufio.NewWriter(env.Stdout)
	var file *os.File
	if *output != "" {
		if file, err = os.OpenFile(*output, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600); err != nil {
			return fmt.Errorf("cannot create %s: %v", *output, err)
		}
		w = bufio.NewWriter(file)
	}
	n, err := svc.ExportAuditFromCLI(core.AuditFilter{Since: *since, Until: *until}, *format, w)
	if err == nil {
		err = w.Flush()
	}
	if file != nil {
		if cerr := file.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(*output)
		}
	}
	if err != nil {
		if e := core.AsError(err); e.Field != "" {
			return usagef("--%s: %s", strings.ToLower(e.Field), e.Message)
		}
		return err
	}
	fmt.Fprintf(env.Stderr, "Exported %d events.\n", n)
	return nil
}
