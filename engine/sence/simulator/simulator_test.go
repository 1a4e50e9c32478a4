package simulator_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/otec-tools/sence-engine/engine/chile"
	"github.com/otec-tools/sence-engine/engine/sence"
	"github.com/otec-tools/sence-engine/engine/sence/payload"
	"github.com/otec-tools/sence-engine/engine/sence/simulator"
)

const (
	rutOtec = "76543210-3"
	token   = "5EEBF607-25A9-4DB2-A4DD-5D31BDAE3220"
)

var creds = []simulator.Credential{{RutOtec: rutOtec, Token: token}}

func roster() *simulator.Roster {
	return &simulator.Roster{Courses: []simulator.RosterCourse{
		{CodigoOferta: "CUR-1", CodigoGrupo: "GRP-1", Students: []string{"12.345.678-5", "17118181-k", "9445435-2"}, Modules: []string{"MOD-1", "MOD-2"}},
		{CodigoOferta: "CUR-2", CodigoGrupo: "GRP-2", Students: []string{"10312870-6"}, Modules: []string{"MOD-9"}},
	}}
}

// fixedClock is a settable clock for the simulator.
type fixedClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fixedClock) now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fixedClock) set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.t = t }

func newClock() *fixedClock {
	return &fixedClock{t: time.Date(2024, 5, 10, 22, 15, 0, 0, chile.Location)}
}

func start(t *testing.T, opts simulator.Options) *simulator.Server {
	t.Helper()
	if opts.Clock == nil {
		opts.Clock = newClock().now
	}
	s, err := simulator.Start(context.Background(), "127.0.0.1:0", opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func alumno(num int64, dv string, progress ...int) payload.Alumno {
	a := payload.Alumno{RutAlumno: num, DvAlumno: dv, TiempoConectividad: 3600, Estado: 1, PorcentajeAvance: 50,
		FechaInicio: "2024-03-01", FechaFin: "2024-06-30", FechaEjecucion: "2024-05-10"}
	if len(progress) == 0 {
		progress = []int{50}
	}
	for i, p := range progress {
		a.ListaModulos = append(a.ListaModulos, payload.Modulo{CodigoModulo: []string{"MOD-1", "MOD-2"}[i], TiempoConectividad: 1800,
			Estado: 1, PorcentajeAvance: p, FechaInicio: "2024-03-01", FechaFin: "2024-05-10",
			ListaActividades: []payload.Actividad{{CodigoActividad: "Foro"}}})
	}
	return a
}

func validCourse(students ...payload.Alumno) payload.Course {
	if len(students) == 0 {
		students = []payload.Alumno{alumno(12345678, "5"), alumno(17118181, "K")}
	}
	return payload.Course{RutOtec: rutOtec, IDSistema: payload.IDSistema, Token: token,
		CodigoOferta: "CUR-1", CodigoGrupo: "GRP-1", ListaAlumnos: students}
}

// asMap turns a course into generic JSON so a test can break its types.
func asMap(t *testing.T, c payload.Course) map[string]any {
	t.Helper()
	b, _ := json.Marshal(c)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func studentAt(m map[string]any, i int) map[string]any {
	return m["listaAlumnos"].([]any)[i].(map[string]any)
}

func moduleAt(m map[string]any, i, j int) map[string]any {
	return studentAt(m, i)["listaModulos"].([]any)[j].(map[string]any)
}

type answer struct {
	status int
	raw    []byte
	body   map[string]any
}

func post(t *testing.T, base string, v any) answer {
	t.Helper()
	var b []byte
	switch x := v.(type) {
	case []byte:
		b = x
	case string:
		b = []byte(x)
	default:
		b, _ = json.Marshal(v)
	}
	resp, err := http.Post(base+"/enviarAvance", "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	a := answer{status: resp.StatusCode}
	a.raw, _ = io.ReadAll(resp.Body)
	json.Unmarshal(a.raw, &a.body)
	return a
}

// errorsOf returns the datosError entries as (codigo, mensaje, alumno).
func errorsOf(a answer) []map[string]any {
	var out []map[string]any
	items, _ := a.body["datosError"].([]any)
	for _, it := range items {
		out = append(out, it.(map[string]any))
	}
	return out
}

func history(t *testing.T, base string, q url.Values) []byte {
	t.Helper()
	resp, err := http.Get(base + "/historialEnvios?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("history status %d", resp.StatusCode)
	}
	b, _ := io.ReadAll(resp.Body)
	return b
}

func authQuery() url.Values {
	return url.Values{"rutOtec": {rutOtec}, "idSistema": {"1350"}, "token": {token}}
}

func TestAuthentication(t *testing.T) {
	cases := []struct {
		name  string
		mod   func(m map[string]any)
		ok    bool
		creds []simulator.Credential
	}{
		{"valid", func(map[string]any) {}, true, creds},
		{"idSistema 1351", func(m map[string]any) { m["idSistema"] = 1351 }, false, creds},
		{"idSistema as string", func(m map[string]any) { m["idSistema"] = "1350" }, false, creds},
		{"idSistema missing (typo ldSistema)", func(m map[string]any) { delete(m, "idSistema"); m["ldSistema"] = 1350 }, false, creds},
		{"other RUT OTEC", func(m map[string]any) { m["rutOtec"] = "77124930-2" }, false, creds},
		{"RUT OTEC with dots", func(m map[string]any) { m["rutOtec"] = "76.543.210-3" }, true, creds},
		{"RUT OTEC as number", func(m map[string]any) { m["rutOtec"] = 76543210 }, false, creds},
		{"lower-case token", func(m map[string]any) { m["token"] = strings.ToLower(token) }, false, creds},
		{"other token", func(m map[string]any) { m["token"] = "0E3D8AF8-AAAA-4C15-0000-1E6E418A457E" }, false, creds},
		{"open mode: any RUT and token", func(m map[string]any) {
			m["rutOtec"], m["token"] = "77124930-2", "0E3D8AF8-AAAA-4C15-0000-1E6E418A457E"
		}, true, nil},
		{"open mode: lower-case token", func(m map[string]any) { m["token"] = strings.ToLower(token) }, false, nil},
		{"open mode: invalid RUT OTEC", func(m map[string]any) { m["rutOtec"] = "11222333-4" }, false, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := start(t, simulator.Options{Credentials: c.creds, Roster: roster()})
			m := asMap(t, validCourse())
			c.mod(m)
			a := post(t, s.URL, m)
			if a.status != http.StatusOK {
				t.Fatalf("status %d: %s", a.status, a.raw)
			}
			stored := len(s.Processes())
			if c.ok {
				if stored != 1 || a.body["id_proceso"] == nil {
					t.Errorf("valid credentials not accepted: %s", a.raw)
				}
				return
			}
			errs := errorsOf(a)
			if stored != 0 || len(errs) != 1 || errs[0]["codigo"] != "001" || errs[0]["mensaje"] != "Token inválido" {
				t.Errorf("want 001 and nothing stored; stored %d, answer %s", stored, a.raw)
			}
			if _, has := a.body["id_proceso"]; has {
				t.Errorf("a 001 carries an id_proceso: %s", a.raw)
			}
			if _, ok := s.Progress("CUR-1", "GRP-1", "12345678-5", "MOD-1"); ok {
				t.Error("progress stored after a 001")
			}
		})
	}
}

func TestStudentRules(t *testing.T) {
	cases := []struct {
		name    string
		mod     func(m map[string]any) // breaks student 0 (12345678-5)
		code    string
		message string // "" = don't check
	}{
		{"tiempoConectividad negative", func(m map[string]any) { studentAt(m, 0)["tiempoConectividad"] = -1 }, "021", "alumno.tiempoConectividad inválido"},
		{"tiempoConectividad text", func(m map[string]any) { studentAt(m, 0)["tiempoConectividad"] = "3600" }, "021", ""},
		{"tiempoConectividad fraction", func(m map[string]any) { studentAt(m, 0)["tiempoConectividad"] = 1.5 }, "021", ""},
		{"porcentajeAvance over 100", func(m map[string]any) { studentAt(m, 0)["porcentajeAvance"] = 101 }, "022", "alumno.porcentajeAvance inválido"},
		{"porcentajeAvance fraction", func(m map[string]any) { studentAt(m, 0)["porcentajeAvance"] = 50.5 }, "022", ""},
		{"porcentajeAvance text", func(m map[string]any) { studentAt(m, 0)["porcentajeAvance"] = "50" }, "022", ""},
		{"estado 4", func(m map[string]any) { studentAt(m, 0)["estado"] = 4 }, "022", "alumno.estado inválido"},
		{"fechaInicio with time", func(m map[string]any) { studentAt(m, 0)["fechaInicio"] = "2024-03-01 00:00:00" }, "026", "alumno.fechaInicio inválido"},
		{"fechaInicio typo fechalnicio", func(m map[string]any) {
			s := studentAt(m, 0)
			s["fechalnicio"] = s["fechaInicio"]
			delete(s, "fechaInicio")
		}, "026", ""},
		{"fechaFin before fechaInicio", func(m map[string]any) {
			studentAt(m, 0)["fechaFin"] = "2024-02-01"
			delete(studentAt(m, 0), "fechaEjecucion")
		}, "027", "alumno.fechaFin inválido"},
		{"fechaEjecucion after fechaFin", func(m map[string]any) { studentAt(m, 0)["fechaEjecucion"] = "2024-07-01" }, "027", "alumno.fechaEjecucion inválido"},
		{"evaluacionFinal negative", func(m map[string]any) { studentAt(m, 0)["evaluacionFinal"] = -3 }, "031", "alumno.evaluacionFinal inválido"},
		{"listaModulos empty", func(m map[string]any) { studentAt(m, 0)["listaModulos"] = []any{} }, "010", "El alumno 12345678-5 no informa módulos (listaModulos vacía)."},
		{"module not registered", func(m map[string]any) { moduleAt(m, 0, 0)["codigoModulo"] = "MOD-7" }, "010", "El alumno 12345678-5 no se encuentra registrado en el módulo MOD-7"},
		{"module tiempoConectividad negative", func(m map[string]any) { moduleAt(m, 0, 0)["tiempoConectividad"] = -5 }, "023", "modulo.tiempoConectividad inválido"},
		{"module porcentajeAvance negative", func(m map[string]any) { moduleAt(m, 0, 0)["porcentajeAvance"] = -1 }, "024", "modulo.porcentajeAvance inválido"},
		{"module porcentajeAvance fraction", func(m map[string]any) { moduleAt(m, 0, 0)["porcentajeAvance"] = 99.5 }, "024", ""},
		{"module estado 0", func(m map[string]any) { moduleAt(m, 0, 0)["estado"] = 0 }, "024", "modulo.estado inválido"},
		{"module fechaInicio dd-mm-yyyy", func(m map[string]any) { moduleAt(m, 0, 0)["fechaInicio"] = "01-03-2024" }, "026", "modulo.fechaInicio inválido"},
		{"module fechaFin with slashes", func(m map[string]any) { moduleAt(m, 0, 0)["fechaFin"] = "2024/05/10" }, "027", "modulo.fechaFin inválido"},
		{"module fechaFin before fechaInicio", func(m map[string]any) { moduleAt(m, 0, 0)["fechaFin"] = "2024-01-10" }, "027", ""},
		{"notaModulo negative", func(m map[string]any) { moduleAt(m, 0, 0)["notaModulo"] = -1 }, "028", "modulo.notaModulo inválido"},
		{"notaModulo text", func(m map[string]any) { moduleAt(m, 0, 0)["notaModulo"] = "siete" }, "028", ""},
		{"module cantActividadSincronica negative", func(m map[string]any) { moduleAt(m, 0, 0)["cantActividadSincronica"] = -1 }, "029", "modulo.cantActividadSincronica inválido"},
		{"module cantActividadAsincronica fraction", func(m map[string]any) { moduleAt(m, 0, 0)["cantActividadAsincronica"] = 1.5 }, "030", "modulo.cantActividadAsincronica inválido"},
		{"listaActividades empty", func(m map[string]any) { moduleAt(m, 0, 0)["listaActividades"] = []any{} }, "010", ""},
		{"student of another course", func(m map[string]any) { s := studentAt(m, 0); s["rutAlumno"], s["dvAlumno"] = 10312870, "6" }, "011", "El alumno 10312870-6 no se encuentra registrado en este curso."},
		{"student unknown to SENCE", func(m map[string]any) { s := studentAt(m, 0); s["rutAlumno"], s["dvAlumno"] = 10176851, "1" }, "012", "El alumno 10176851-1 no se encuentra registrado."},
		{"wrong check digit", func(m map[string]any) { studentAt(m, 0)["dvAlumno"] = "9" }, "012", "El alumno 12345678-9 no se encuentra registrado."},
		{"rutAlumno as string", func(m map[string]any) { studentAt(m, 0)["rutAlumno"] = "12345678" }, "012", ""},
		// Only the last error found is reported: module checks run after the
		// student's fields, registration last of all.
		{"last error wins", func(m map[string]any) {
			studentAt(m, 0)["tiempoConectividad"] = -1
			moduleAt(m, 0, 0)["fechaFin"] = "mañana"
		}, "027", "modulo.fechaFin inválido"},
		{"registration reported over field errors", func(m map[string]any) {
			s := studentAt(m, 0)
			s["rutAlumno"], s["dvAlumno"], s["porcentajeAvance"] = 10176851, "1", 500
		}, "012", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := start(t, simulator.Options{Credentials: creds, Roster: roster()})
			m := asMap(t, validCourse())
			c.mod(m)
			a := post(t, s.URL, m)
			errs := errorsOf(a)
			if a.status != http.StatusOK || len(errs) != 1 {
				t.Fatalf("want one error; status %d: %s", a.status, a.raw)
			}
			if errs[0]["codigo"] != c.code || (c.message != "" && errs[0]["mensaje"] != c.message) {
				t.Errorf("got %v %q; want %s %q", errs[0]["codigo"], errs[0]["mensaje"], c.code, c.message)
			}
			if errs[0]["alumno"] == nil {
				t.Error("the student as sent is missing from datosError")
			}
			// Partial success: the other student is stored.
			stored, _ := a.body["datosEnviados"].([]any)
			if len(stored) != 1 || stored[0].(map[string]any)["rutAlumno"] != 17118181.0 {
				t.Errorf("datosEnviados = %v; want the good student", a.body["datosEnviados"])
			}
			if _, ok := s.Progress("CUR-1", "GRP-1", "17118181-K", "MOD-1"); !ok {
				t.Error("the good student's progress was not stored")
			}
			if _, ok := s.Progress("CUR-1", "GRP-1", "12345678-5", "MOD-1"); ok {
				t.Error("the rejected student's progress was stored")
			}
			if a.body["id_proceso"] == nil || a.body["respuesta_SIC"] != "" {
				t.Errorf("rejected shape: %s", a.raw)
			}
			// The client reads the same answer the same way.
			r, err := sence.ParseSendResponse(a.raw)
			if err != nil {
				t.Fatal(err)
			}
			out := r.Outcomes(nil)
			if out["17118181-K"].Outcome != sence.Accepted || len(r.Errors) != 1 || r.Errors[0].Info.Code != c.code {
				t.Errorf("client reads %+v / %+v", out, r.Errors)
			}
		})
	}
}

func TestAcceptedShapeAndDefaults(t *testing.T) {
	clock := newClock()
	s := start(t, simulator.Options{Credentials: creds, Roster: roster(), Clock: clock.now})
	m := asMap(t, validCourse())
	delete(studentAt(m, 0), "estado")         // SENCE: "por defecto es 1"
	delete(studentAt(m, 0), "fechaEjecucion") // SENCE: "por defecto la fecha actual"
	a := post(t, s.URL, m)
	if a.status != http.StatusOK || len(errorsOf(a)) != 0 {
		t.Fatalf("status %d: %s", a.status, a.raw)
	}
	for _, k := range []string{"id_proceso", "envio", "errores", "respuesta_SIC"} {
		if _, ok := a.body[k]; !ok {
			t.Errorf("accepted answer lacks %s: %s", k, a.raw)
		}
	}
	if a.body["id_proceso"] != 1.0 || !strings.Contains(a.body["respuesta_SIC"].(string), "El proceso 1 ha finalizado correctamente") {
		t.Errorf("answer %s", a.raw)
	}
	envio := a.body["envio"].([]any)
	if len(envio) != 2 || envio[1].(map[string]any)["fechaInicio"] != "2024-03-01 00:00:00" {
		t.Errorf("envio does not echo dates with a time: %v", envio)
	}
	procs := s.Processes()
	rec := procs[0].Registros[0]
	if rec.FechaEjecucion != "2024-05-10 00:00:00" {
		t.Errorf("default fechaEjecucion = %q", rec.FechaEjecucion)
	}
	r, err := sence.ParseSendResponse(a.raw)
	if err != nil || r.IDProceso != "1" || len(r.Stored) != 2 {
		t.Fatalf("client parse: %+v, %v", r, err)
	}
}

func TestCourseRules(t *testing.T) {
	cases := []struct {
		name string
		mod  func(m map[string]any)
		code string
		msg  string
	}{
		{"unknown course", func(m map[string]any) { m["codigoOferta"] = "CUR-X" }, "003", "El curso CUR-X no se encuentra registrado"},
		{"group of another course", func(m map[string]any) { m["codigoGrupo"] = "GRP-2" }, "003", ""},
		{"cantActividadSincronica negative", func(m map[string]any) { m["cantActividadSincronica"] = -1 }, "032", "curso.cantActividadSincronica inválido"},
		{"cantActividadAsincronica text", func(m map[string]any) { m["cantActividadAsincronica"] = "x" }, "033", "curso.cantActividadAsincronica inválido"},
		{"registration reported over fields", func(m map[string]any) { m["codigoOferta"], m["cantActividadSincronica"] = "CUR-X", -1 }, "003", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := start(t, simulator.Options{Credentials: creds, Roster: roster()})
			m := asMap(t, validCourse())
			c.mod(m)
			a := post(t, s.URL, m)
			errs := errorsOf(a)
			if len(errs) != 2 {
				t.Fatalf("want both students rejected: %s", a.raw)
			}
			for _, e := range errs {
				if e["codigo"] != c.code || (c.msg != "" && e["mensaje"] != c.msg) {
					t.Errorf("got %v %q; want %s %q", e["codigo"], e["mensaje"], c.code, c.msg)
				}
			}
			if stored, _ := a.body["datosEnviados"].([]any); len(stored) != 0 {
				t.Errorf("students stored despite a course error: %v", stored)
			}
			if s.AcceptedSends("17118181-K") != 0 {
				t.Error("history records the student as stored")
			}
		})
	}
}

func TestProgressIsMonotonic(t *testing.T) {
	for _, rejectEqual := range []bool{false, true} {
		s := start(t, simulator.Options{Credentials: creds, Roster: roster(), RejectEqualProgress: rejectEqual})
		send := func(p int) answer { return post(t, s.URL, validCourse(alumno(12345678, "5", p))) }
		if a := send(40); len(errorsOf(a)) != 0 {
			t.Fatalf("first send rejected: %s", a.raw)
		}
		a := send(30)
		errs := errorsOf(a)
		if len(errs) != 1 || errs[0]["codigo"] != "025" || errs[0]["mensaje"] != "modulo.porcentajeAvance debe ser mayor al anterior 40" {
			t.Fatalf("regression: %s", a.raw)
		}
		if v, _ := s.Progress("CUR-1", "GRP-1", "12345678-5", "MOD-1"); v != 40 {
			t.Errorf("stored progress %d after a regression, want 40", v)
		}
		// The history records it as SENCE does: [010] and five decimals.
		procs, err := sence.ParseHistory(history(t, s.URL, authQuery()))
		if err != nil {
			t.Fatal(err)
		}
		if obs := procs[1].Registros[0].ObsRegistro; obs != "[010] modulo.porcentajeAvance debe ser mayor al anterior (40.00000)" {
			t.Errorf("history obs = %q", obs)
		}
		a = send(40)
		equalRejected := len(errorsOf(a)) == 1 && errorsOf(a)[0]["codigo"] == "025"
		if equalRejected != rejectEqual {
			t.Errorf("RejectEqualProgress=%v: equal value answer %s", rejectEqual, a.raw)
		}
		if a := send(55); len(errorsOf(a)) != 0 {
			t.Errorf("progress up rejected: %s", a.raw)
		}
		if v, _ := s.Progress("CUR-1", "GRP-1", "12345678-5", "MOD-1"); v != 55 {
			t.Errorf("stored progress %d, want 55", v)
		}
		// Progress is per course: the same student elsewhere starts afresh.
		other := validCourse(alumno(10312870, "6", 10))
		other.CodigoOferta, other.CodigoGrupo = "CUR-2", "GRP-2"
		other.ListaAlumnos[0].ListaModulos[0].CodigoModulo = "MOD-9"
		if a := post(t, s.URL, other); len(errorsOf(a)) != 0 {
			t.Errorf("other course: %s", a.raw)
		}
	}
}

func TestBadBodies(t *testing.T) {
	s := start(t, simulator.Options{Credentials: creds, Roster: roster()})
	noStudents := asMap(t, validCourse())
	delete(noStudents, "listaAlumnos")
	noStudents["ListaAlumnos"] = []any{} // SENCE's own typo
	for name, body := range map[string]any{
		"empty":         "",
		"not JSON":      "{rutOtec: 1",
		"array":         "[1, 2]",
		"two objects":   `{"a":1} {"b":2}`,
		"no students":   noStudents,
		"students null": `{"rutOtec":"76543210-3","idSistema":1350,"token":"` + token + `","listaAlumnos":null}`,
	} {
		a := post(t, s.URL, body)
		if a.status != http.StatusBadRequest || a.body["mensaje"] == nil || a.body["mensaje"] == "" {
			t.Errorf("%s: status %d body %s; want 400 with a message", name, a.status, a.raw)
		}
	}
	if n := len(s.Processes()); n != 0 {
		t.Errorf("%d processes stored from bad bodies", n)
	}
}

func TestServesBaseAndRootPaths(t *testing.T) {
	s := start(t, simulator.Options{Credentials: creds, Roster: roster()})
	for i, base := range []string{s.URL, s.BaseURL()} {
		a := post(t, base, validCourse())
		if a.status != http.StatusOK || a.body["id_proceso"] != float64(i+1) {
			t.Errorf("POST %s: %d %s", base, a.status, a.raw)
		}
		if _, err := sence.ParseHistory(history(t, base, authQuery())); err != nil {
			t.Errorf("GET %s: %v", base, err)
		}
	}
	resp, err := http.Get(s.URL + "/enviarAvance")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET enviarAvance: %d, want 405", resp.StatusCode)
	}
	if got := s.Counts(); got.Sends != 2 || got.History != 2 {
		t.Errorf("Counts = %+v", got)
	}
}

func TestHistory(t *testing.T) {
	clock := newClock()
	other := simulator.Credential{RutOtec: "77124930-2", Token: "0E3D8AF8-AAAA-4C15-0000-1E6E418A457E"}
	s := start(t, simulator.Options{Credentials: append(slices.Clone(creds), other), Roster: roster(), Clock: clock.now})
	c := validCourse(alumno(12345678, "5", 10, 20), alumno(10176851, "1", 10))
	c.CodigoEnvio = "envio-A"
	post(t, s.URL, c)
	clock.set(clock.now().AddDate(0, 0, 2))
	c = validCourse(alumno(12345678, "5", 30, 40))
	c.CodigoEnvio = "envio-B"
	post(t, s.URL, c)
	c.RutOtec, c.Token, c.CodigoEnvio = other.RutOtec, other.Token, "envio-other"
	post(t, s.URL, c)

	ids := func(q url.Values) []string {
		t.Helper()
		procs, err := sence.ParseHistory(history(t, s.URL, q))
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, p := range procs {
			out = append(out, p.IDProceso+":"+p.CodigoExterno)
		}
		return out
	}
	with := func(k, v string) url.Values { q := authQuery(); q.Set(k, v); return q }
	cases := []struct {
		name string
		q    url.Values
		want []string
	}{
		{"all of this OTEC", authQuery(), []string{"1:envio-A", "2:envio-B"}},
		{"fechaDesde the first day", with("fechaDesde", "2024-05-10"), []string{"1:envio-A", "2:envio-B"}},
		{"fechaDesde the day after", with("fechaDesde", "2024-05-11"), []string{"2:envio-B"}},
		{"fechaDesde in the future", with("fechaDesde", "2024-06-01"), nil},
		{"codigo_externo", with("codigo_externo", "envio-A"), []string{"1:envio-A"}},
		{"codigo_externo of another OTEC", with("codigo_externo", "envio-other"), nil},
		{"id_proceso", with("id_proceso", "2"), []string{"2:envio-B"}},
	}
	for _, tc := range cases {
		if got := ids(tc.q); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}

	for name, q := range map[string]url.Values{
		"wrong token":      with("token", "0E3D8AF8-AAAA-4C15-0000-1E6E418A457E"),
		"lower-case token": with("token", strings.ToLower(token)),
		"wrong idSistema":  with("idSistema", "1"),
		"no parameters":    {},
	} {
		body := history(t, s.URL, q)
		if string(bytes.TrimSpace(body)) != `{"error":[{"mensaje":"Token invalido"}]}` {
			t.Errorf("%s: %s", name, body)
		}
	}

	// The record shape: every value a string, SENCE's formats.
	var raw []map[string]any
	if err := json.Unmarshal(history(t, s.URL, with("id_proceso", "1")), &raw); err != nil {
		t.Fatal(err)
	}
	recs := raw[0]["listaregistros"].([]any)
	if len(recs) != 3 {
		t.Fatalf("%d records, want one per student-module (3)", len(recs))
	}
	for k, v := range raw[0] {
		if _, ok := v.(string); !ok && k != "listaregistros" {
			t.Errorf("process field %s is %T, want string", k, v)
		}
	}
	for _, r := range recs {
		for k, v := range r.(map[string]any) {
			if _, ok := v.(string); !ok {
				t.Errorf("record field %s is %T, want string", k, v)
			}
		}
	}
	procs, _ := sence.ParseHistory(history(t, s.URL, with("id_proceso", "1")))
	p := procs[0]
	if p.RutOtec != "76543210" || p.Fecha != "2024-05-10 22:15:00" || p.CodigoExterno != "envio-A" {
		t.Errorf("process = %+v", p)
	}
	r0, r1, r2 := p.Registros[0], p.Registros[1], p.Registros[2]
	if r0.RutOtec != "76543210" || r0.DvOtec != "3" || r0.PorcentajeAvance != "50.00000" || r0.ModPorcentajeAvance != "10.00000" ||
		r1.ModPorcentajeAvance != "20.00000" || r0.ModCod != "MOD-1" || r1.ModCod != "MOD-2" || !r0.OK() || r0.ObsRegistro != "" ||
		r0.FechaInicio != "2024-03-01 00:00:00" || r0.StudentRUT() != "12345678-5" || r0.IDRegistro == r1.IDRegistro {
		t.Errorf("accepted records = %+v / %+v", r0, r1)
	}
	if r2.OK() || r2.EstadoRegistro != "3" || r2.ObsRegistro != "[012] El alumno 10176851-1 no se encuentra registrado." {
		t.Errorf("rejected record = %+v", r2)
	}
}

func TestStateSurvivesRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sim.json")
	opts := simulator.Options{Credentials: creds, Roster: roster(), StatePath: path}
	s := start(t, opts)
	c := validCourse(alumno(12345678, "5", 40))
	c.CodigoEnvio = "antes"
	post(t, s.URL, c)
	s.Close()

	s2 := start(t, opts)
	if got := s2.SendsWithCodigoEnvio("antes"); got != 1 {
		t.Fatalf("after restart: %d processes with codigoEnvio antes", got)
	}
	a := post(t, s2.URL, validCourse(alumno(12345678, "5", 30)))
	if a.body["id_proceso"] != 2.0 {
		t.Errorf("id_proceso after restart = %v, want 2", a.body["id_proceso"])
	}
	if errs := errorsOf(a); len(errs) != 1 || errs[0]["codigo"] != "025" {
		t.Errorf("the stored progress was forgotten: %s", a.raw)
	}
	procs, _ := sence.ParseHistory(history(t, s2.URL, authQuery()))
	if len(procs) != 2 {
		t.Errorf("history after restart has %d processes", len(procs))
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("temporary files left next to the state: %v", entries)
	}
	if err := os.WriteFile(path, []byte("{roto"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := simulator.New(opts); err == nil || !strings.Contains(err.Error(), "dañado") {
		t.Errorf("a damaged state file: %v", err)
	}
}

func TestFaults(t *testing.T) {
	t.Run("503 then success", func(t *testing.T) {
		s := start(t, simulator.Options{Credentials: creds, Faults: simulator.Faults{Fail503Next: 2, RetryAfter: 3 * time.Second}})
		for i := range 2 {
			resp, err := http.Post(s.URL+"/enviarAvance", "application/json", strings.NewReader("{}"))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") != "3" {
				t.Errorf("request %d: %d Retry-After %q", i, resp.StatusCode, resp.Header.Get("Retry-After"))
			}
		}
		if a := post(t, s.URL, validCourse()); a.status != http.StatusOK {
			t.Errorf("third request: %d", a.status)
		}
	})
	t.Run("malformed", func(t *testing.T) {
		s := start(t, simulator.Options{Credentials: creds, Faults: simulator.Faults{MalformedNext: 1}})
		a := post(t, s.URL, validCourse())
		if _, err := sence.ParseSendResponse(a.raw); a.status != http.StatusOK || err == nil {
			t.Errorf("malformed answer: %d %s", a.status, a.raw)
		}
		if len(s.Processes()) != 0 {
			t.Error("a malformed answer stored the send")
		}
	})
	t.Run("drop after store", func(t *testing.T) {
		s := start(t, simulator.Options{Credentials: creds, Faults: simulator.Faults{DropAfterStore: 1}})
		b, _ := json.Marshal(validCourse())
		resp, err := http.Post(s.URL+"/enviarAvance", "application/json", bytes.NewReader(b))
		if err == nil {
			resp.Body.Close()
			t.Fatalf("got an answer %d; want the connection closed", resp.StatusCode)
		}
		if len(s.Processes()) != 1 {
			t.Error("the dropped send was not stored")
		}
		if a := post(t, s.URL, validCourse()); a.status != http.StatusOK {
			t.Errorf("the fault is not consumed: %d", a.status)
		}
	})
	t.Run("latency", func(t *testing.T) {
		s := start(t, simulator.Options{Credentials: creds, Faults: simulator.Faults{Latency: 150 * time.Millisecond}})
		t0 := time.Now()
		history(t, s.URL, authQuery())
		if d := time.Since(t0); d < 150*time.Millisecond {
			t.Errorf("answered in %s", d)
		}
		s.SetFaults(simulator.Faults{})
		t0 = time.Now()
		history(t, s.URL, authQuery())
		if d := time.Since(t0); d > 100*time.Millisecond {
			t.Errorf("SetFaults did not clear the latency: %s", d)
		}
	})
}

func TestNewRejectsBadCredentials(t *testing.T) {
	for name, c := range map[string]simulator.Credential{
		"invalid RUT":      {RutOtec: "11222333-4", Token: token},
		"lower-case token": {RutOtec: rutOtec, Token: strings.ToLower(token)},
		"not a UUID":       {RutOtec: rutOtec, Token: "ABC"},
	} {
		_, err := simulator.New(simulator.Options{Credentials: []simulator.Credential{c}})
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		if strings.Contains(strings.ToUpper(err.Error()), token) {
			t.Errorf("%s: the error shows the token: %v", name, err)
		}
	}
}

// TestSlowSENCE: with Processing, a send is stored after the delay even
// when the client gave up before; with HistoryLag, a stored send shows in
// historialEnvios only after the lag, also after a restart.
func TestSlowSENCE(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sim.json")
	clock := newClock()
	opts := simulator.Options{Credentials: creds, Roster: roster(), StatePath: path, Clock: clock.now,
		Processing: 300 * time.Millisecond, HistoryLag: time.Minute}
	s := start(t, opts)
	c := validCourse(alumno(12345678, "5", 40))
	c.CodigoEnvio = "lento"
	b, _ := json.Marshal(c)
	hc := &http.Client{Timeout: 50 * time.Millisecond}
	if resp, err := hc.Post(s.URL+"/enviarAvance", "application/json", bytes.NewReader(b)); err == nil {
		resp.Body.Close()
		t.Fatalf("answered %d before the processing delay", resp.StatusCode)
	}
	if n := len(s.Processes()); n != 0 {
		t.Fatalf("stored before the processing delay: %d", n)
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(s.Processes()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the send the client gave up on was never stored")
		}
		time.Sleep(10 * time.Millisecond)
	}
	q := authQuery()
	q.Set("codigo_externo", "lento")
	if procs, _ := sence.ParseHistory(history(t, s.URL, q)); len(procs) != 0 {
		t.Fatalf("shown in the history before the lag: %+v", procs)
	}
	s.Close()
	s = start(t, opts)
	clock.set(clock.now().Add(59 * time.Second))
	if procs, _ := sence.ParseHistory(history(t, s.URL, q)); len(procs) != 0 {
		t.Fatalf("shown a second before the lag ends: %+v", procs)
	}
	clock.set(clock.now().Add(time.Second))
	if procs, _ := sence.ParseHistory(history(t, s.URL, q)); len(procs) != 1 || procs[0].CodigoExterno != "lento" {
		t.Fatalf("not shown once the lag ended: %+v", procs)
	}
}

// TestCloseDropsSendsInProcessing: a simulator closed while it processes a
// send does not store it (a server that stops mid-way), and Close waits
// for it.
func TestCloseDropsSendsInProcessing(t *testing.T) {
	s := start(t, simulator.Options{Credentials: creds, Processing: time.Hour})
	done := make(chan struct{})
	go func() {
		defer close(done)
		b, _ := json.Marshal(validCourse())
		if resp, err := http.Post(s.URL+"/enviarAvance", "application/json", bytes.NewReader(b)); err == nil {
			resp.Body.Close()
		}
	}()
	for s.Counts().Sends == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond) // the body is read
	t0 := time.Now()
	s.Close()
	<-done
	if d := time.Since(t0); d > 2*time.Second || len(s.Processes()) != 0 {
		t.Fatalf("Close took %s and left %d processes", d, len(s.Processes()))
	}
}

func TestMalformedAfterStore(t *testing.T) {
	s := start(t, simulator.Options{Credentials: creds, Faults: simulator.Faults{MalformedAfterStore: 1}})
	a := post(t, s.URL, validCourse())
	if _, err := sence.ParseSendResponse(a.raw); a.status != http.StatusOK || err == nil {
		t.Errorf("answer: %d %s", a.status, a.raw)
	}
	if len(s.Processes()) != 1 {
		t.Error("the send was not stored")
	}
	if a := post(t, s.URL, validCourse()); a.body["id_proceso"] != 2.0 {
		t.Errorf("the fault is not consumed: %s", a.raw)
	}
}
