package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/otec-tools/sence-engine/engine/diag"
)

// cmdFlags is a command's flag set with the command line in Spanish: -h
// prints the usage once on stdout and ends with 0; a mistake prints one
// line that says what is wrong (with the nearest option for a typo) and a
// hint to -h, and ends with ExitUsage. Go's flag package prints nothing.
type cmdFlags struct {
	*flag.FlagSet
	e         *Env
	name      string
	argsUsage string
}

func newFlags(e *Env, name, argsUsage string) *cmdFlags {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return &cmdFlags{FlagSet: fs, e: e, name: name, argsUsage: argsUsage}
}

// parse parses options anywhere among the arguments (options after the
// mapping file are common) and returns the positional ones. done is true
// when the command must end now with code: after -h (0) or a mistake (2).
func (f *cmdFlags) parse(args []string) (pos []string, code int, done bool) {
	for {
		if err := f.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				f.printUsage(f.e.Stdout)
				return nil, ExitOK, true
			}
			return nil, f.fail(f.explain(err, args)), true
		}
		args = f.Args()
		if len(args) == 0 {
			return pos, 0, false
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// parseN is parse for a command that takes between min and max positional
// arguments (max < 0: no limit).
func (f *cmdFlags) parseN(args []string, min, max int) ([]string, int, bool) {
	pos, code, done := f.parse(args)
	if done {
		return nil, code, true
	}
	switch {
	case len(pos) < min:
		return nil, f.fail(fmt.Sprintf("falta %s", f.argsUsage)), true
	case max >= 0 && len(pos) > max:
		extra := pos[max:]
		if max == 0 {
			return nil, f.fail(fmt.Sprintf("no se esperaban argumentos: %s", strings.Join(extra, " "))), true
		}
		return nil, f.fail(fmt.Sprintf("sobran argumentos: %s (se espera %s)", strings.Join(extra, " "), f.argsUsage)), true
	}
	return pos, 0, false
}

// fail prints a usage mistake and the hint to -h; it returns ExitUsage.
func (f *cmdFlags) fail(msg string) int {
	fmt.Fprintf(f.e.Stderr, "engine %s: %s\n", f.name, msg)
	fmt.Fprintf(f.e.Stderr, "Uso: engine %s\nUse «engine %s -h» para ver las opciones.\n", f.synopsis(), f.name)
	return ExitUsage
}

func (f *cmdFlags) synopsis() string {
	s := f.name
	hasFlags := false
	f.VisitAll(func(*flag.Flag) { hasFlags = true })
	if hasFlags {
		s += " [opciones]"
	}
	if f.argsUsage != "" {
		s += " " + f.argsUsage
	}
	return s
}

// explain turns an error of the flag package into Spanish.
func (f *cmdFlags) explain(err error, args []string) string {
	msg := err.Error()
	switch {
	case strings.HasPrefix(msg, "flag provided but not defined: "):
		name := strings.TrimLeft(strings.TrimPrefix(msg, "flag provided but not defined: "), "-")
		out := fmt.Sprintf("opción desconocida «-%s»", name)
		var names []string
		f.VisitAll(func(fl *flag.Flag) { names = append(names, fl.Name) })
		if s := diag.Suggest(name, names); s != "" {
			out += fmt.Sprintf("; ¿quiso decir «-%s»?", s)
		}
		return out
	case strings.HasPrefix(msg, "flag needs an argument: "):
		name := strings.TrimLeft(strings.TrimPrefix(msg, "flag needs an argument: "), "-")
		return fmt.Sprintf("la opción «-%s» necesita un valor: -%s %s", name, name, f.valueWord(f.Lookup(name)))
	case strings.HasPrefix(msg, "invalid value ") || strings.HasPrefix(msg, "invalid boolean value "):
		// invalid value "x" for flag -runs: parse error
		rest := strings.TrimPrefix(strings.TrimPrefix(msg, "invalid boolean value "), "invalid value ")
		val, name, reason := rest, "", ""
		sep := " for flag -"
		if !strings.Contains(rest, sep) {
			sep = " for -" // booleans: invalid boolean value "x" for -strict: …
		}
		if i := strings.Index(rest, sep); i >= 0 {
			val, name = rest[:i], rest[i+len(sep):]
			if j := strings.Index(name, ": "); j >= 0 {
				name, reason = name[:j], name[j+2:]
			}
		}
		if u, err := strconv.Unquote(val); err == nil {
			val = u
		}
		fl := f.Lookup(name)
		if fl == nil {
			return fmt.Sprintf("valor inválido «%s»", val)
		}
		switch reason {
		case "", "parse error", "value out of range":
			// The flag package's own words: say what is expected.
			return fmt.Sprintf("valor inválido «%s» para «-%s»: se espera %s", val, name, kindWord(fl))
		}
		// Our own flag values explain themselves in Spanish.
		return fmt.Sprintf("valor inválido «%s» para «-%s»: %s", val, name, reason)
	}
	return msg
}

// kindWord names what an option's value must be, in Spanish.
func kindWord(fl *flag.Flag) string {
	switch fl.Value.(type) {
	case interface{ IsBoolFlag() bool }:
		return "true o false"
	}
	switch reflect.TypeOf(fl.Value).String() {
	case "*flag.intValue", "*flag.int64Value", "*flag.uintValue", "*flag.uint64Value":
		return "un número entero"
	case "*flag.durationValue":
		return "una duración como 30s, 5m o 1h"
	case "*flag.float64Value":
		return "un número"
	}
	return "otro valor"
}

// valueWord is the placeholder of an option's value in the usage.
func (f *cmdFlags) valueWord(fl *flag.Flag) string {
	if fl == nil {
		return "VALOR"
	}
	if strings.Contains(fl.Usage, "`") {
		// Go's convention: the back-quoted word of the help names the value.
		name, _ := flag.UnquoteUsage(fl)
		return strings.ToUpper(name)
	}
	if _, ok := fl.Value.(interface{ IsBoolFlag() bool }); ok {
		return ""
	}
	switch kindWord(fl) {
	case "un número entero":
		return "N"
	case "una duración como 30s, 5m o 1h":
		return "DURACIÓN"
	}
	return "TEXTO"
}

// printUsage writes the command's usage: synopsis and every option with
// its value word, its help and its default («por omisión»).
func (f *cmdFlags) printUsage(w io.Writer) {
	fmt.Fprintf(w, "Uso: engine %s\n", f.synopsis())
	if c, ok := commandNamed(f.name); ok && c.summary != "" {
		fmt.Fprintf(w, "\n%s.\n", upperFirst(c.summary))
	}
	var fls []*flag.Flag
	f.VisitAll(func(fl *flag.Flag) { fls = append(fls, fl) })
	if len(fls) == 0 {
		return
	}
	sort.Slice(fls, func(i, j int) bool { return fls[i].Name < fls[j].Name })
	fmt.Fprintln(w, "\nOpciones:")
	for _, fl := range fls {
		head := "  -" + fl.Name
		if v := f.valueWord(fl); v != "" {
			head += " " + v
		}
		fmt.Fprintln(w, head)
		help := fl.Usage
		if strings.Contains(help, "`") {
			_, help = flag.UnquoteUsage(fl)
		}
		if d := defaultText(fl); d != "" {
			help += " (por omisión " + d + ")"
		}
		fmt.Fprintf(w, "      %s\n", help)
	}
}

// defaultText is an option's default as the usage shows it, "" when it is
// the zero value (false, 0, empty) and says nothing.
func defaultText(fl *flag.Flag) string {
	d := fl.DefValue
	switch d {
	case "", "false", "0", "0s", "[]":
		return ""
	}
	return d
}

func upperFirst(s string) string {
	for i, r := range s {
		return strings.ToUpper(string(r)) + s[i+len(string(r)):]
	}
	return s
}
