package mapping

import (
	"cmp"
	"errors"
	"fmt"
	"github.com/otec-tools/sence-engine/engine/sence/payload"
	"github.com/otec-tools/sence-engine/engine/voice"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/otec-tools/sence-engine/engine/diag"
	"github.com/otec-tools/sence-engine/engine/infile"
	"github.com/otec-tools/sence-engine/mappings"
	yaml "go.yaml.in/yaml/v3"
)

// Options control how a mapping is loaded.
type Options struct {
	// LookupEnv resolves ${VAR}; os.LookupEnv when nil.
	LookupEnv func(string) (string, bool)
	// Unneeded names settings (like "source.dsn") the command at hand
	// never uses: an undefined ${VAR} in them is not reported (engine
	// status reads only the ledger, without the database's password or
	// the SENCE token).
	Unneeded []string
}

// Load reads a mapping file, resolves `extends`, interpolates ${VAR} and
// decodes it strictly. Every problem is returned at once; the mapping is
// nil only when the file could not be read or parsed at all.
func Load(path string, opts Options) (*Mapping, diag.List) {
	l := newLoader(opts)
	root := l.tree(path, nil, Pos{})
	if root == nil {
		return nil, l.diags
	}
	m := &Mapping{File: path, Files: l.files, Presets: l.presets, Unresolved: l.unresolved}
	l.decode(root, m)
	m.Source.resolve()
	return m, l.diags
}

// resolve makes a relative SQLite path relative to the file that names it,
// so a mapping works from any working directory.
func (s *Source) resolve() {
	if s.Driver != "sqlite" || s.DSN == "" || s.DSN == ":memory:" || strings.HasPrefix(s.DSN, "file:") || filepath.IsAbs(s.DSN) {
		return
	}
	s.DSN = filepath.Join(s.dir, s.DSN)
}

// LoadBytes loads a mapping from memory (tests, embedded examples). name is
// used in positions and to resolve relative `extends`.
func LoadBytes(name string, data []byte, opts Options) (*Mapping, diag.List) {
	l := newLoader(opts)
	root := l.parse(name, data, nil, Pos{})
	if root == nil {
		return nil, l.diags
	}
	m := &Mapping{File: name, Files: l.files, Presets: l.presets, Unresolved: l.unresolved}
	l.decode(root, m)
	m.Source.resolve()
	return m, l.diags
}

func newLoader(opts Options) *loader {
	if opts.LookupEnv == nil {
		opts.LookupEnv = os.LookupEnv
	}
	l := &loader{fileOf: map[*yaml.Node]string{}, lines: map[string][]string{}, env: opts.LookupEnv,
		unresolved: map[string]bool{}, unneeded: map[string]bool{}}
	for _, u := range opts.Unneeded {
		l.unneeded[u] = true
	}
	return l
}

type loader struct {
	// rawParams are the params entries, typed once every file's
	// declarations are known (params.go).
	rawParams []rawParam
	// unneeded are settings whose undefined ${VAR} is not reported.
	unneeded map[string]bool
	// unresolved are the settings whose ${VAR} was not defined.
	unresolved map[string]bool
	diags      diag.List
	fileOf     map[*yaml.Node]string
	lines      map[string][]string
	files      []string
	presets    []string // the names under which embedded presets were read
	env        func(string) (string, bool)
	read       int64 // bytes of mapping files read so far
}

// tree reads one file and what it extends, returning the merged node. A
// mapping with the files it extends holds at most infile.MappingLimit
// bytes, each a regular file: a FIFO or /dev/zero is refused at once.
func (l *loader) tree(path string, chain []string, from Pos) *yaml.Node {
	data, err := infile.Read(path, infile.MappingLimit-l.read)
	if err != nil {
		msg := diag.FileError("leer el archivo de mapeo", path, err).Error()
		if errors.Is(err, infile.ErrTooLarge) {
			msg = fmt.Sprintf("el archivo de mapeo «%s» es demasiado grande: un mapeo, con los archivos que extiende, no puede pasar de %s (el preset de Moodle pesa unos 15 KiB); ¿es el archivo correcto?", path, infile.Size(infile.MappingLimit))
			if l.read > 0 {
				msg += fmt.Sprintf(" (los archivos ya leídos suman %s)", infile.Size(l.read))
			}
		}
		if from.File == "" {
			l.diags.Errorf(path, 0, 0, "%s", msg)
		} else {
			l.diags.Errorf(from.File, from.Line, from.Col, "%s", msg)
		}
		return nil
	}
	return l.parse(path, data, chain, from)
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

func (l *loader) parse(name string, data []byte, chain []string, from Pos) *yaml.Node {
	for _, c := range chain {
		if c == name {
			l.diags.Errorf(from.File, from.Line, from.Col, "«extends» forma un ciclo: %s → %s", strings.Join(chain, " → "), name)
			return nil
		}
	}
	chain = append(chain, name)
	l.files = append(l.files, name)
	l.read += int64(len(data))
	l.lines[name] = strings.Split(string(data), "\n")
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		l.yamlError(name, err)
		return nil
	}
	l.repeatedKeys(&doc, name)
	if doc.Kind == 0 || len(doc.Content) == 0 {
		l.diags.Errorf(name, 1, 1, "el archivo de mapeo está vacío")
		return nil
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		l.diags.Errorf(name, root.Line, root.Column, "el archivo de mapeo debe ser un mapa YAML (clave: valor)")
		return nil
	}
	l.mark(root, name)
	ext := mapGet(root, "extends")
	if ext == nil {
		return root
	}
	if ext.Kind != yaml.ScalarNode || ext.Value == "" {
		l.diags.Errorf(name, ext.Line, ext.Column, "«extends» debe ser el nombre de un preset (por ejemplo «moodle») o la ruta de otro mapeo")
		return root
	}
	at := Pos{File: name, Line: ext.Line, Col: ext.Column}
	var parent *yaml.Node
	if data, ok := mappings.Preset(ext.Value); ok {
		l.presets = append(l.presets, ext.Value+".yaml")
		parent = l.parse(ext.Value+".yaml", data, chain, at)
	} else if !strings.ContainsAny(ext.Value, `/\`) && !strings.HasSuffix(ext.Value, ".yaml") && !strings.HasSuffix(ext.Value, ".yml") {
		hint := ""
		if s := diag.Suggest(ext.Value, mappings.Names()); s != "" {
			hint = fmt.Sprintf("; ¿quiso decir «%s»?", s)
		}
		l.diags.Errorf(name, ext.Line, ext.Column, "no existe el preset «%s» (presets incluidos: %s)%s", ext.Value, strings.Join(mappings.Names(), ", "), hint)
		return root
	} else {
		p := ext.Value
		if !filepath.IsAbs(p) {
			p = filepath.Join(filepath.Dir(name), p)
		}
		parent = l.tree(p, chain, at)
	}
	if parent == nil {
		return root
	}
	return l.merge(parent, root)
}

// repeatedKeys reports a key written twice in one map, at its second
// occurrence: YAML would keep one silently (two top-level «sence:»
// blocks, and the second decides where to send).
func (l *loader) repeatedKeys(n *yaml.Node, file string) {
	if n.Kind == yaml.MappingNode {
		first := map[string]*yaml.Node{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if k.Kind != yaml.ScalarNode {
				continue
			}
			if f, ok := first[k.Value]; ok {
				l.diags.Errorf(file, k.Line, k.Column, "la clave «%s» está repetida en el mismo nivel (la primera está en la línea %d): YAML se quedaría con una sola; junte ambas en una", k.Value, f.Line)
				continue
			}
			first[k.Value] = k
		}
	}
	for _, c := range n.Content {
		l.repeatedKeys(c, file)
	}
}

func (l *loader) yamlError(name string, err error) {
	var te *yaml.TypeError
	msg := err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		hint := ""
		if strings.Contains(m[2], "mapping values are not allowed") {
			hint = " (una expresión con «: », como el operador a ? b : c, debe ir entre comillas o en un bloque con |)"
		}
		l.diags.Errorf(name, line, 0, "YAML inválido: %s%s", m[2], hint)
		return
	}
	_ = te
	l.diags.Errorf(name, 0, 0, "YAML inválido: %s", strings.TrimPrefix(msg, "yaml: "))
}

func (l *loader) mark(n *yaml.Node, file string) {
	l.fileOf[n] = file
	for _, c := range n.Content {
		l.mark(c, file)
	}
}

// merge overlays child on parent key by key: maps merge recursively, any
// other value of the child replaces the parent's. `extends` is dropped.
func (l *loader) merge(parent, child *yaml.Node) *yaml.Node {
	if parent.Kind != yaml.MappingNode || child.Kind != yaml.MappingNode {
		return child
	}
	out := *parent
	out.Content = nil
	l.fileOf[&out] = l.fileOf[parent]
	childKeys := map[string]int{}
	for i := 0; i+1 < len(child.Content); i += 2 {
		childKeys[child.Content[i].Value] = i
	}
	used := map[string]bool{}
	for i := 0; i+1 < len(parent.Content); i += 2 {
		k, v := parent.Content[i], parent.Content[i+1]
		if k.Value == "extends" {
			continue
		}
		if j, ok := childKeys[k.Value]; ok {
			used[k.Value] = true
			ck, cv := child.Content[j], child.Content[j+1]
			if cv.Kind == yaml.MappingNode && v.Kind == yaml.MappingNode {
				out.Content = append(out.Content, ck, l.merge(v, cv))
			} else if v.Kind == yaml.SequenceNode && cv.Kind == yaml.ScalarNode && cv.Tag != "!!null" {
				// A single value where the extended file has a list is a
				// list of that value: syncModules: zoom is [zoom].
				list := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Line: cv.Line, Column: cv.Column, Content: []*yaml.Node{cv}}
				l.fileOf[list] = l.fileOf[cv]
				out.Content = append(out.Content, ck, list)
			} else {
				out.Content = append(out.Content, ck, cv)
			}
			continue
		}
		out.Content = append(out.Content, k, v)
	}
	for i := 0; i+1 < len(child.Content); i += 2 {
		k := child.Content[i]
		if used[k.Value] || k.Value == "extends" {
			continue
		}
		out.Content = append(out.Content, k, child.Content[i+1])
	}
	return &out
}

func mapGet(n *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// ---- decoding ----

func (l *loader) pos(n *yaml.Node) Pos {
	return Pos{File: l.fileOf[n], Line: n.Line, Col: n.Column}
}

func (l *loader) errorf(n *yaml.Node, format string, args ...any) {
	p := l.pos(n)
	l.diags.Errorf(p.File, p.Line, p.Col, format, args...)
}

func (l *loader) warnf(n *yaml.Node, format string, args ...any) {
	p := l.pos(n)
	l.diags.Warnf(p.File, p.Line, p.Col, format, args...)
}

// fields walks a mapping node, reporting unknown and repeated keys with the
// nearest valid name, and calls fn for each known key.
func (l *loader) fields(n *yaml.Node, where string, known []string, fn func(key string, k, v *yaml.Node)) {
	if n.Kind != yaml.MappingNode {
		if n.Tag == "!!null" {
			return
		}
		l.errorf(n, "«%s» debe ser un mapa (clave: valor)", where)
		return
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if seen[k.Value] {
			continue // reported when the file was parsed
		}
		seen[k.Value] = true
		if known != nil && !contains(known, k.Value) {
			hint := ""
			if s := diag.Suggest(k.Value, known); s != "" {
				hint = fmt.Sprintf("; ¿quiso decir «%s»?", s)
			}
			l.errorf(k, "clave desconocida «%s» en «%s»%s", k.Value, where, hint)
			continue
		}
		fn(k.Value, k, v)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

var envRef = regexp.MustCompile(`\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}`)

// str returns a scalar with ${VAR} and ${VAR:-default} interpolated.
func (l *loader) str(n *yaml.Node, where string) string {
	if n.Kind != yaml.ScalarNode {
		l.errorf(n, "«%s» debe ser un valor simple (texto o número)", where)
		return ""
	}
	if n.Tag == "!!null" {
		return ""
	}
	return l.interpolate(n, n.Value, where)
}

func (l *loader) interpolate(n *yaml.Node, s, where string) string {
	if !strings.Contains(s, "$") {
		return s
	}
	return envRef.ReplaceAllStringFunc(s, func(ref string) string {
		if ref == "$$" {
			return "$"
		}
		m := envRef.FindStringSubmatch(ref)
		if v, ok := l.env(m[1]); ok && v != "" {
			return v
		}
		if strings.Contains(ref, ":-") {
			return m[2]
		}
		l.unresolved[where] = true
		if l.unneeded[where] {
			return ""
		}
		if where == "sence.token" {
			// A secret is often absent where a mapping is only reviewed;
			// the commands that send refuse without it.
			l.warnf(n, "la variable de entorno %s no está definida (usada en «%s»): se necesitará para enviar a SENCE", m[1], where)
			return ""
		}
		l.errorf(n, "la variable de entorno %s no está definida (usada en «%s»); defínala o use ${%s:-valor}", m[1], where, m[1])
		return ""
	})
}

func (l *loader) text(n *yaml.Node, where string) Text {
	s := l.str(n, where)
	p := l.pos(n)
	t := Text{Src: s, Pos: p}
	switch n.Style {
	case yaml.LiteralStyle, yaml.FoldedStyle:
		t.Block = true
		lines := l.lines[p.File]
		t.Pos.Line = p.Line + 1
		if t.Pos.Line-1 < len(lines) {
			line := lines[t.Pos.Line-1]
			t.Pos.Col = len(line) - len(strings.TrimLeft(line, " ")) + 1
		}
	case yaml.DoubleQuotedStyle, yaml.SingleQuotedStyle:
		t.Pos.Col++
	}
	return t
}

func (l *loader) integer(n *yaml.Node, where string) int {
	s := l.str(n, where)
	v, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		l.errorf(n, "«%s» debe ser un número entero; se obtuvo «%s»", where, s)
	}
	return v
}

func (l *loader) boolean(n *yaml.Node, where string) bool {
	s := l.str(n, where)
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "yes", "si", "sí":
		return true
	case "false", "no", "":
		return false
	}
	l.errorf(n, "«%s» debe ser true o false; se obtuvo «%s»", where, s)
	return false
}

func (l *loader) duration(n *yaml.Node, where string) time.Duration {
	s := strings.TrimSpace(l.str(n, where))
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return d
	}
	if v, err := strconv.Atoi(s); err == nil && v > 0 {
		return time.Duration(v) * time.Second
	}
	l.errorf(n, "«%s» debe ser una duración como 600s, 10m o 1h30m; se obtuvo «%s»", where, s)
	return 0
}

var topKeys = append([]string{"version", "extends", "source", "sence", "run", "parameters", "params", "checks", "queries"}, LevelNames[:]...)

func (l *loader) decode(root *yaml.Node, m *Mapping) {
	for i := range m.Levels {
		m.Levels[i] = &Level{Index: i, Key: DefaultKeys[i]}
	}
	sawVersion := false
	l.fields(root, "mapeo", topKeys, func(key string, k, v *yaml.Node) {
		switch key {
		case "version":
			sawVersion = true
			m.Version = l.integer(v, "version")
			if m.Version != Version {
				l.errorf(v, "versión de formato %d no soportada; este motor lee la versión %d", m.Version, Version)
			}
		case "extends":
		case "source":
			l.source(k, v, &m.Source)
		case "sence":
			l.sence(k, v, &m.Sence)
		case "run":
			l.run(k, v, &m.Run)
		case "parameters":
			l.parameters(v, m)
		case "params":
			l.params(v)
		case "queries":
			l.queries(v, m)
		case "checks":
			l.checks(v, m)
		default:
			idx := indexOf(LevelNames[:], key)
			l.level(k, v, m.Levels[idx])
		}
	})
	l.resolveParams(m)
	if !sawVersion {
		p := l.pos(root)
		l.diags.Errorf(m.File, p.Line, p.Col, "falta «version: 1» al comienzo del mapeo")
	}
}

func indexOf(list []string, s string) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return -1
}

func (l *loader) source(k, v *yaml.Node, s *Source) {
	s.Pos = l.pos(k)
	l.fields(v, "source", []string{"driver", "dsn", "prefix", "batchSize", "timeout"}, func(key string, k, v *yaml.Node) {
		switch key {
		case "driver":
			s.Driver = l.str(v, "source.driver")
			s.DriverPos = l.pos(v)
			if !contains(Drivers, s.Driver) {
				hint := ""
				if sug := diag.Suggest(s.Driver, Drivers); sug != "" {
					hint = fmt.Sprintf("; ¿quiso decir «%s»?", sug)
				}
				l.errorf(v, "driver «%s» no soportado (use %s)%s", s.Driver, strings.Join(Drivers, ", "), hint)
			}
		case "dsn":
			s.DSN = l.str(v, "source.dsn")
			s.DSNPos = l.pos(v)
			s.dir = filepath.Dir(l.fileOf[v])
		case "prefix":
			s.Prefix = l.str(v, "source.prefix")
			s.PrefixPos = l.pos(v)
			if !validPrefix.MatchString(s.Prefix) {
				l.errorf(v, "el prefijo de tablas «%s» solo puede tener letras, números y _", s.Prefix)
			}
		case "batchSize":
			s.BatchSize = l.integer(v, "source.batchSize")
			if s.BatchSize < 1 {
				l.errorf(v, "source.batchSize debe ser al menos 1")
			}
		case "timeout":
			s.Timeout = l.duration(v, "source.timeout")
		}
	})
}

// Drivers are the supported source drivers.
var Drivers = []string{"sqlite", "postgres", "mysql"}

var validPrefix = regexp.MustCompile(`^[A-Za-z0-9_]*$`)

func (l *loader) sence(k, v *yaml.Node, s *Sence) {
	s.Pos = l.pos(k)
	var settleNode *yaml.Node
	l.fields(v, "sence", []string{"rutOtec", "token", "tokenFile", "baseUrl", "timeout", "settle", "window", "simulator"}, func(key string, k, v *yaml.Node) {
		switch key {
		case "rutOtec":
			s.RutOtec = l.str(v, "sence.rutOtec")
			s.RutPos = l.pos(v)
			if msg := rutOtecProblem(s.RutOtec); msg != "" && !l.unresolved["sence.rutOtec"] {
				l.errorf(v, "%s%s", msg, l.envNote(v))
			}
		case "token":
			s.Token = strings.TrimSpace(l.str(v, "sence.token"))
			s.TokenPos = l.pos(v)
			if msg := TokenProblem(s.Token); msg != "" {
				l.errorf(v, "%s%s", msg, l.envNote(v))
			}
		case "tokenFile":
			s.TokenFile = l.str(v, "sence.tokenFile")
			s.TokenPos, s.TokenFilePos = l.pos(v), l.pos(v)
			if s.TokenFile != "" && !filepath.IsAbs(s.TokenFile) {
				// Relative to the file that names it, like every path
				// of a mapping: the same from cron, systemd or a shell.
				s.TokenFile = filepath.Join(filepath.Dir(l.fileOf[v]), s.TokenFile)
			}
		case "baseUrl":
			s.BaseURL = l.str(v, "sence.baseUrl")
			if !strings.HasPrefix(s.BaseURL, "https://") && !strings.HasPrefix(s.BaseURL, "http://127.0.0.1") && !strings.HasPrefix(s.BaseURL, "http://localhost") {
				l.errorf(v, "sence.baseUrl debe usar https:// (solo se permite http:// hacia 127.0.0.1 o localhost, para el simulador)")
			}
		case "timeout":
			s.Timeout = l.duration(v, "sence.timeout")
		case "settle":
			s.Settle, settleNode = l.duration(v, "sence.settle"), v
		case "window":
			s.Window.Pos = l.pos(k)
			l.fields(v, "sence.window", []string{"start", "end"}, func(key string, k, v *yaml.Node) {
				val := l.str(v, "sence.window."+key)
				if _, err := time.Parse("15:04", val); err != nil {
					l.errorf(v, "sence.window.%s debe ser una hora HH:MM; se obtuvo «%s»", key, val)
				}
				if key == "start" {
					s.Window.Start, s.Window.StartPos = val, l.pos(v)
				} else {
					s.Window.End, s.Window.EndPos = val, l.pos(v)
				}
			})
			if s.Window.Start != "" && s.Window.Start == s.Window.End {
				l.diags.Errorf(s.Window.EndPos.File, s.Window.EndPos.Line, s.Window.EndPos.Col, "sence.window: start y end son la misma hora (%s): la ventana de envío no duraría nada; SENCE recibe de 22:00 a 00:00", s.Window.End)
			}
		case "simulator":
			s.SimulatorPos = l.pos(k)
			// `simulator: null` in a site file turns off a parent's simulator.
			s.Simulator = v.Tag != "!!null"
			l.fields(v, "sence.simulator", []string{"roster"}, func(key string, k, v *yaml.Node) {
				s.SimRoster, s.RosterPos = l.str(v, "sence.simulator.roster"), l.pos(v)
				if s.SimRoster != "" && !filepath.IsAbs(s.SimRoster) {
					s.SimRoster = filepath.Join(filepath.Dir(l.fileOf[v]), s.SimRoster)
				}
			})
		}
	})
	if timeout := cmp.Or(s.Timeout, DefaultSenceTimeout); settleNode != nil && s.Settle > 0 && s.Settle < timeout {
		l.errorf(settleNode, "sence.settle (%s) no puede ser menor que sence.timeout (%s): SENCE puede seguir procesando un envío al menos mientras el motor espera su respuesta", s.Settle, timeout)
	}
}

// DefaultSenceTimeout is sence.timeout when the mapping does not set it
// (SENCE's recommendation; the sence package's DefaultTimeout).
const DefaultSenceTimeout = 600 * time.Second

// Policies are the reconciliation policies of nightly runs.
var Policies = []string{"keep-max", "hold", "send"}

func (l *loader) run(k, v *yaml.Node, r *RunConfig) {
	r.Pos = l.pos(k)
	l.fields(v, "run", []string{"ledger", "concurrency", "policy", "skipUnchanged", "schedule"}, func(key string, k, v *yaml.Node) {
		switch key {
		case "ledger":
			r.Ledger, r.LedgerPos = l.str(v, "run.ledger"), l.pos(v)
		case "concurrency":
			r.Concurrency = l.integer(v, "run.concurrency")
			if r.Concurrency < 1 || r.Concurrency > 32 {
				l.errorf(v, "run.concurrency debe estar entre 1 y 32")
			}
		case "policy":
			r.Policy = l.str(v, "run.policy")
			if !contains(Policies, r.Policy) {
				l.errorf(v, "política «%s» desconocida en run.policy (use %s)%s", r.Policy, strings.Join(Policies, ", "), suggestion(r.Policy, Policies))
			}
		case "skipUnchanged":
			r.SkipUnchanged = l.boolean(v, "run.skipUnchanged")
		case "schedule":
			r.Schedule, r.SchedulePos = l.str(v, "run.schedule"), l.pos(v)
			l.checkSchedule(v, r.Schedule)
		}
	})
}

func (l *loader) queries(v *yaml.Node, m *Mapping) {
	l.fields(v, "queries", nil, func(name string, k, v *yaml.Node) {
		if !identifier.MatchString(name) {
			l.errorf(k, "el nombre de consulta «%s» debe ser un identificador (letras, números y _)", name)
			return
		}
		q := Query{Name: name, Pos: l.pos(k), Level: -1}
		where := "queries." + name
		l.fields(v, where, []string{"level", "sql", "multiple", "types", "when", "sessions", "selection"}, func(key string, k, v *yaml.Node) {
			switch key {
			case "level":
				s := l.str(v, where+".level")
				q.LevelPos = l.pos(v)
				q.Level = indexOf(LevelNames[:], s)
				if q.Level < 0 {
					hint := ""
					if sug := diag.Suggest(s, LevelNames[:]); sug != "" {
						hint = fmt.Sprintf("; ¿quiso decir «%s»?", sug)
					}
					l.errorf(v, "nivel «%s» desconocido (use %s)%s", s, strings.Join(LevelNames[:], ", "), hint)
				}
			case "sql":
				q.SQL = l.text(v, where+".sql")
			case "multiple":
				q.Multiple = l.boolean(v, where+".multiple")
			case "types":
				q.TypesPos = l.pos(k)
				q.Types = map[string]string{}
				l.fields(v, where+".types", nil, func(col string, k, v *yaml.Node) {
					t := l.str(v, where+".types."+col)
					if !contains(ColumnTypes, t) {
						l.errorf(v, "tipo «%s» desconocido para la columna «%s» (use %s)", t, col, strings.Join(ColumnTypes, ", "))
					}
					q.Types[col] = t
				})
			case "when":
				q.When = l.text(v, where+".when")
			case "selection":
				q.Selection = l.str(v, where+".selection")
				q.SelectionPos = l.pos(v)
				if !contains(Selections, q.Selection) {
					l.errorf(v, "«%s.selection» debe ser %s; se obtuvo «%s»", where, strings.Join(Selections, ", "), q.Selection)
				}
			case "sessions":
				s := &Sessions{Pos: l.pos(k)}
				l.fields(v, where+".sessions", []string{"time", "gap", "minLength"}, func(key string, k, v *yaml.Node) {
					switch key {
					case "time":
						s.Time = l.str(v, where+".sessions.time")
					case "gap":
						s.Gap = l.text(v, where+".sessions.gap")
					case "minLength":
						s.MinLength = l.text(v, where+".sessions.minLength")
					}
				})
				if s.Time == "" || s.Gap.IsZero() {
					l.errorf(k, "«%s.sessions» necesita «time» (columna con la hora del evento) y «gap» (segundos máximos entre clics)", where)
				}
				q.Sessions = s
			}
		})
		if q.SQL.IsZero() {
			l.errorf(k, "a la consulta «%s» le falta «sql»", name)
		}
		if q.Level < 0 && q.LevelPos.Line == 0 {
			l.errorf(k, "a la consulta «%s» le falta «level» (%s)", name, strings.Join(LevelNames[:], ", "))
		}
		if q.Selection != "" && q.Level >= 0 && q.Level != Course {
			l.diags.Errorf(q.SelectionPos.File, q.SelectionPos.Line, q.SelectionPos.Col, "«%s.selection» solo sirve en consultas de nivel courses", where)
		}
		if q.Selection == "" {
			q.Selection = SelectSelected
		}
		m.Queries = append(m.Queries, q)
	})
}

func (l *loader) checks(v *yaml.Node, m *Mapping) {
	l.fields(v, "checks", nil, func(name string, k, v *yaml.Node) {
		c := Check{Name: name, Pos: l.pos(k)}
		where := "checks." + name
		l.fields(v, where, []string{"rule", "message", "param"}, func(key string, k, v *yaml.Node) {
			switch key {
			case "rule":
				c.Rule = l.text(v, where+".rule")
			case "message":
				c.Message = l.str(v, where+".message")
			case "param":
				c.Param = l.str(v, where+".param")
			}
		})
		if c.Rule.IsZero() || c.Message == "" {
			l.errorf(k, "«%s» necesita «rule» (una expresión sobre params) y «message»", where)
			return
		}
		m.Checks = append(m.Checks, c)
	})
}

// ColumnTypes are the types a query may declare for its columns.
var ColumnTypes = []string{"int", "float", "string", "bool"}

func (l *loader) level(k, v *yaml.Node, lv *Level) {
	name := LevelNames[lv.Index]
	lv.Pos = l.pos(k)
	known := []string{"from", "key", "include", "vars", "fields"}
	if lv.Index < Activity {
		known = append(known, "warnings")
	}
	if lv.Index == Course {
		known = append(known, "list", "split", "unselected")
	}
	l.fields(v, name, known, func(key string, k, v *yaml.Node) {
		switch key {
		case "from":
			lv.From = l.str(v, name+".from")
			lv.FromPos = l.pos(v)
		case "key":
			lv.Key = l.str(v, name+".key")
			if !identifier.MatchString(lv.Key) {
				l.errorf(v, "«%s.key» debe ser el nombre de una columna", name)
			}
		case "include":
			lv.Include = l.text(v, name+".include")
		case "split":
			lv.Split = l.text(v, name+".split")
		case "unselected":
			lv.Unselected = l.text(v, name+".unselected")
		case "vars", "fields", "warnings":
			var out []Field
			l.fields(v, name+"."+key, nil, func(fname string, k, v *yaml.Node) {
				if !identifier.MatchString(fname) {
					l.errorf(k, "el nombre «%s» debe ser un identificador (letras, números y _)", fname)
					return
				}
				out = append(out, Field{Name: fname, Expr: l.text(v, name+"."+key+"."+fname), Pos: l.pos(k)})
			})
			switch key {
			case "vars":
				lv.Vars = out
			case "fields":
				lv.Fields = out
			default:
				lv.Warnings = out
			}
		case "list":
			if v.Kind != yaml.SequenceNode {
				l.errorf(v, "«courses.list» debe ser una lista")
				return
			}
			// The engine reads a course's last entry and sends each
			// codigoOferta and codigoGrupo once a night: a repeat is said
			// where it is written.
			courseAt, codesAt := map[string]int{}, map[[2]string]int{}
			for _, item := range v.Content {
				lc := ListedCourse{Pos: l.pos(item)}
				if item.Kind == yaml.ScalarNode {
					lc.Course = l.str(item, "courses.list")
				} else {
					l.fields(item, "courses.list", []string{"course", "codigoOferta", "codigoGrupo"}, func(key string, k, v *yaml.Node) {
						switch key {
						case "course":
							lc.Course = l.str(v, "courses.list.course")
						case "codigoOferta":
							lc.CodigoOferta = l.str(v, "courses.list.codigoOferta")
						case "codigoGrupo":
							lc.CodigoGrupo = l.str(v, "courses.list.codigoGrupo")
						}
					})
				}
				if lc.Course == "" {
					l.errorf(item, "cada elemento de «courses.list» necesita «course» (nombre corto o id del curso en Moodle)")
				} else if line, ok := courseAt[lc.Course]; ok {
					l.warnf(item, "«courses.list» ya nombra el curso «%s» en la línea %d: vale esta última entrada y la anterior no se usa; deje una sola", lc.Course, line)
				} else {
					courseAt[lc.Course] = lc.Pos.Line
				}
				if lc.CodigoOferta != "" {
					key := [2]string{lc.CodigoOferta, payload.Section(lc.CodigoOferta, lc.CodigoGrupo)}
					if line, ok := codesAt[key]; ok {
						l.warnf(item, "«courses.list» ya da %s a otro curso en la línea %d: SENCE recibiría dos listas del mismo curso y sección, así que se enviará solo el primero que se construya y el otro será un curso con error; corrija el código de uno de los dos", voice.Codes(lc.CodigoOferta, lc.CodigoGrupo), line)
					} else {
						codesAt[key] = lc.Pos.Line
					}
				}
				lv.List = append(lv.List, lc)
			}
		}
	})
}
