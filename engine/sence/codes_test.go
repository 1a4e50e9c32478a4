package sence

import (
	"strings"
	"testing"
)

func TestCatalogueHasEveryDocumentedCode(t *testing.T) {
	want := map[string]Scope{
		"001": ScopeSend, "002": ScopeSend, "003": ScopeCourse,
		"010": ScopeStudent, "011": ScopeStudent, "012": ScopeStudent,
		"021": ScopeStudent, "022": ScopeStudent, "023": ScopeStudent, "024": ScopeStudent,
		"025": ScopeStudent, "026": ScopeStudent, "027": ScopeStudent, "028": ScopeStudent,
		"029": ScopeStudent, "030": ScopeStudent, "031": ScopeStudent,
		"032": ScopeCourse, "033": ScopeCourse,
	}
	if got := len(Codes()); got != len(want) {
		t.Errorf("catalogue has %d codes, want %d", got, len(want))
	}
	for code, scope := range want {
		info, ok := Lookup(code)
		if !ok {
			t.Errorf("Lookup(%s) not found", code)
			continue
		}
		if info.Scope != scope {
			t.Errorf("%s scope = %v, want %v", code, info.Scope, scope)
		}
		if info.Text == "" || info.Meaning == "" || info.Action == "" {
			t.Errorf("%s lacks text, meaning or action: %+v", code, info)
		}
	}
	if info, _ := Lookup("002"); !info.Transient {
		t.Error("002 must be transient: the same data can be resent later")
	}
	if info, _ := Lookup("012"); info.Transient {
		t.Error("012 must not be transient")
	}
	if info, ok := Lookup("12"); !ok || info.Code != "012" {
		t.Errorf("Lookup(12) = %+v, %v; want 012", info, ok)
	}
	if _, ok := Lookup("999"); ok {
		t.Error("Lookup(999) found a code that does not exist")
	}
}

func TestMatchTrustsTextOverCode(t *testing.T) {
	cases := []struct {
		code, message string
		want          string
		ok            bool
	}{
		{"010", "modulo.porcentajeAvance debe ser mayor al anterior (20.00000)", "025", true},
		{"", "[010] modulo.porcentajeAvance debe ser mayor al anterior (20.00000)", "025", true},
		{"025", "modulo.porcentajeAvance debe ser mayor al anterior 40", "025", true},
		{"012", "El alumno 11111111-5 no se encuentra registrado.", "012", true},
		{"012", "El alumno 1-9 no se encuentra registrado en el módulo M1", "010", true},
		{"", "El alumno 1-9 no se encuentra registrado en el modulo M1", "010", true},
		{"", "El alumno 1-9 no se encuentra registrado en este curso.", "011", true},
		{"003", "El curso CAP-1 no se encuentra registrado", "003", true},
		{"", "Token invalido", "001", true},
		{"001", "Token inválido", "001", true},
		{"002", "timeout del servicio de autenticación", "002", true},
		{"024", "modulo.estado inválido", "024", true}, // unknown text: code decides
		{"", "MODULO.FECHAINICIO INVALIDO", "026", true},
		{"", "modulo.porcentajeAvance inválido", "024", true},
		{"", "alumno.porcentajeAvance invalido", "022", true},
		{"", "curso.cantActividadAsincronica inválido", "033", true},
		{"", "modulo.cantActividadAsincronica inválido", "030", true},
		{"", "alumno.tiempoConectividad inválido, hay uno o más errores", "021", true},
		{"", "[3] error raro", "003", true},
		{"999", "algo nunca visto", "999", false},
		{"", "", "", false},
	}
	for _, c := range cases {
		got, ok := Match(c.code, c.message)
		if got.Code != c.want || ok != c.ok {
			t.Errorf("Match(%q, %q) = %s, %v; want %s, %v", c.code, c.message, got.Code, ok, c.want, c.ok)
		}
	}
}

// The simulator builds its messages with Format; the client must classify
// them back to the same code, or the two halves disagree.
func TestFormatRoundTripsThroughMatch(t *testing.T) {
	for _, info := range Codes() {
		if info.Code == "002" {
			continue
		}
		msg := info.Format("12345678-5", "MOD-1")
		if strings.Contains(msg, "{") {
			t.Errorf("%s: Format left a placeholder: %q", info.Code, msg)
		}
		got, ok := Match("", msg)
		if !ok || got.Code != info.Code {
			t.Errorf("Match(%q) = %s, %v; want %s", msg, got.Code, ok, info.Code)
		}
	}
	if got := mustLookup(t, "010").Format("1-9", "M1"); got != "El alumno 1-9 no se encuentra registrado en el módulo M1" {
		t.Errorf("Format 010 = %q", got)
	}
	if got := mustLookup(t, "025").Format("40"); got != "modulo.porcentajeAvance debe ser mayor al anterior 40" {
		t.Errorf("Format 025 = %q", got)
	}
}

func mustLookup(t *testing.T, code string) CodeInfo {
	t.Helper()
	info, ok := Lookup(code)
	if !ok {
		t.Fatalf("Lookup(%s) not found", code)
	}
	return info
}

func TestPrevious(t *testing.T) {
	cases := []struct {
		msg  string
		want float64
		ok   bool
	}{
		{"modulo.porcentajeAvance debe ser mayor al anterior 40", 40, true},
		{"modulo.porcentajeAvance debe ser mayor al anterior (20.00000)", 20, true},
		{"modulo.porcentajeAvance debe ser mayor al anterior {40}", 40, true},
		{"modulo.porcentajeAvance debe ser mayor al anterior: 40,5", 40.5, true},
		{"modulo.porcentajeAvance debe ser mayor al anterior", 0, false},
		{"alumno.porcentajeAvance inválido", 0, false},
	}
	for _, c := range cases {
		got, ok := Previous(c.msg)
		if got != c.want || ok != c.ok {
			t.Errorf("Previous(%q) = %v, %v; want %v, %v", c.msg, got, ok, c.want, c.ok)
		}
	}
}

// TestExplainWholeModuleCode: a 010 for a code of a documented shape is a
// registration problem, not a pattern one.
func TestExplainWholeModuleCode(t *testing.T) {
	for _, code := range []string{"C51737-O14-M1", "C51737-014-M1", "C46982-O565656565-M1", "PRES028008000558", "ELE028837032039", "LE028837032039"} {
		got := Explain("010", "El alumno 12345678-5 no se encuentra registrado en el módulo "+code)
		if strings.Contains(got, "moduleCodePattern") || !strings.Contains(got, "inscripción del alumno en el módulo") {
			t.Errorf("%s: %s", code, got)
		}
	}
	for _, code := range []string{"-M1", "M1", "O14-M1", "51737-O14-M1", "C51737-", "RES", "C51737-O14"} {
		if !LooksCut(code) {
			t.Errorf("LooksCut(%q) = false", code)
		}
	}
}

// TestNoOrEqual: the newest edition rejects only a lower progress.
func TestNoOrEqual(t *testing.T) {
	got := Explain("025", "modulo.porcentajeAvance debe ser mayor al anterior 40")
	if strings.Contains(got, "o igual") || !strings.Contains(got, "es menor que el que SENCE ya tiene") {
		t.Errorf("025: %s", got)
	}
}

func TestExplain(t *testing.T) {
	cases := []struct {
		code, message string
		contains      []string
	}{
		{"012", "El alumno 11111111-5 no se encuentra registrado.", []string{"[012]", "11111111-5", "no está inscrito en SENCE", "Número de ID"}},
		{"010", "modulo.porcentajeAvance debe ser mayor al anterior (20.00000)", []string{"[025]", "SENCE tiene 20 %", "no acepta retrocesos"}},
		{"001", "", []string{"[001]", "Token inválido", "mayúsculas", "sistemas.sence.cl/rts", "primero compruebe", "que aparece ahí para el RUT de este OTEC", "solo si no aparece o caducó, genere uno nuevo"}},
		{"010", "El alumno 12345678-5 no se encuentra registrado en el módulo -M1", []string{"[010]", "«-M1» parece cortado", "params.moduleCodePattern"}},
		{"010", "El alumno 12345678-5 no se encuentra registrado en el modulo O14-M2.", []string{"«O14-M2» parece cortado", "params.moduleCodePattern"}},
		{"010", "El alumno 12345678-5 no se encuentra registrado en el módulo RES", []string{"«RES» parece cortado"}},
		{"003", "El curso X-1 no se encuentra registrado", []string{"[003]", "X-1", "nombre corto"}},
		{"777", "cosa rara", []string{"[777]", "cosa rara", "no documentado"}},
		{"", "", []string{"sin código", "sin mensaje"}},
	}
	for _, c := range cases {
		got := Explain(c.code, c.message)
		for _, s := range c.contains {
			if !strings.Contains(got, s) {
				t.Errorf("Explain(%q, %q) = %q; missing %q", c.code, c.message, got, s)
			}
		}
	}
}
