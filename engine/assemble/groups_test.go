package assemble_test

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/otec-tools/sence-engine/engine/assemble"
	"github.com/otec-tools/sence-engine/engine/mapping"
	"github.com/otec-tools/sence-engine/engine/moodledb/demo"
	"github.com/otec-tools/sence-engine/engine/plan"
	"github.com/otec-tools/sence-engine/engine/sence/payload"
)

// paramsPlan compiles the demo mapping with extra params, as a site file
// that sets them would.
func paramsPlan(t *testing.T, dsn string, params string) *plan.Plan {
	t.Helper()
	site := fmt.Sprintf("version: 1\nextends: ../../../examples/moodle-demo/mapping.yaml\nsource:\n  driver: sqlite\n  dsn: %q\n  prefix: mdl_\n", dsn)
	if params != "" {
		site += "params:\n" + params
	}
	m, ds := mapping.LoadBytes("testdata/site.yaml", []byte(site), mapping.Options{LookupEnv: func(string) (string, bool) { return "", false }})
	if ds.HasErrors() {
		t.Fatal(ds.Error())
	}
	pl, ds := plan.Compile(m)
	if ds.HasErrors() {
		t.Fatal(ds.Error())
	}
	return pl
}

func ruts(ds *demo.Dataset, ids ...int64) []string {
	var out []string
	for _, id := range ids {
		out = append(out, ds.User(id).RUT)
	}
	slices.Sort(out)
	return out
}

func payloadRUTs(c *payload.Course) []string {
	var out []string
	for _, a := range c.ListaAlumnos {
		out = append(out, fmt.Sprintf("%d-%s", a.RutAlumno, a.DvAlumno))
	}
	slices.Sort(out)
	return out
}

// TestCodigoGrupoChoices builds the demo with each value of
// params.groupFrom, through the real engine: the course taught in two
// sections gets its codigoGrupo from its own code, its idnumber, its custom
// field, or one payload per Moodle group with that group's students; a
// course that lacks what the choice reads fails once, naming the cause.
func TestCodigoGrupoChoices(t *testing.T) {
	dsn, ds := loadDemo(t, "sqlite", "mdl_", demo.DemoConfig())
	left := ds.CasesFor("left")[0]
	grouped := ds.Course(left.CourseID)
	gid := strconv.FormatInt(grouped.ID, 10)
	lone, both := ds.CasesFor("no-sence-group")[0].UserID, ds.CasesFor("two-sence-groups")[0].UserID
	members := map[string][]int64{}
	for _, g := range grouped.Groups {
		for _, code := range demo.GroupCodes {
			if strings.HasPrefix(g.Name, code) {
				members[code] = g.Members
			}
		}
	}
	for _, tc := range []struct {
		name, params string
		// grupos are the codigoGrupo of the grouped course's payloads.
		grupos []string
		// other is what every other selected course gets: "" its own
		// code, else the start of its course error.
		other string
	}{
		{"default", "", []string{grouped.Shortname}, ""},
		{"codigoOferta", "  groupFrom: codigoOferta\n", []string{grouped.Shortname}, ""},
		{"idnumber", "  groupFrom: idnumber\n", []string{grouped.IDNumber}, "el curso no tiene «Número de ID del curso» (idnumber)"},
		{"customfield", "  groupFrom: customfield\n  groupField: codigogrupo\n", []string{grouped.FieldValue}, "el campo personalizado «codigogrupo» del curso está vacío o no existe"},
		{"groups", "  groupFrom: groups\n", demo.GroupCodes, "el curso no tiene grupos de Moodle con un código de sección SENCE"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pl := paramsPlan(t, dsn, tc.params)
			results, _ := runBuild(t, pl, assemble.Options{Check: validator(t)})
			var got []string
			files := map[string]bool{}
			for _, r := range results {
				switch {
				case r.CourseID == gid:
					if r.Payload == nil {
						t.Fatalf("%s grupo %q not sendable: %v", r.CodigoOferta, r.CodigoGrupo, r.Err)
					}
					got = append(got, r.Payload.CodigoGrupo)
					if r.CodigoGrupo != r.Payload.CodigoGrupo || r.Payload.CodigoOferta != grouped.Shortname {
						t.Errorf("result codes %s/%s, payload %s/%s", r.CodigoOferta, r.CodigoGrupo, r.Payload.CodigoOferta, r.Payload.CodigoGrupo)
					}
					files[r.Payload.CodigoOferta+"/"+r.Payload.CodigoGrupo] = true
				case r.Err != nil && strings.Contains(r.Err.Error(), "ninguna sección lleva un código de módulo"):
					// the course without module codes fails first, whatever the choice
				case tc.other == "":
					if r.Payload == nil || r.Payload.CodigoGrupo != r.CodigoOferta {
						t.Errorf("%s: codigoGrupo %q (%v), want its codigoOferta", r.CodigoOferta, r.CodigoGrupo, r.Err)
					}
				default:
					if r.Payload != nil || r.Err == nil || !strings.HasPrefix(r.Err.Error(), tc.other) {
						t.Errorf("%s: payload %v, error %v; want one course error starting %q", r.CodigoOferta, r.Payload != nil, r.Err, tc.other)
					}
					if len(r.Excluded) > 0 {
						t.Errorf("%s: %d students excluded one by one besides the course error", r.CodigoOferta, len(r.Excluded))
					}
				}
			}
			if !slices.Equal(got, tc.grupos) || len(files) != len(got) {
				t.Fatalf("the grouped course's payloads have codigoGrupo %v, want %v", got, tc.grupos)
			}
			if tc.name != "groups" {
				return
			}
			// One payload per section, with its group's students; the
			// student in no SENCE group and the one in both are excluded
			// with the cause, and the one who left is said once.
			for _, r := range results {
				if r.CourseID != gid {
					continue
				}
				want := ruts(ds, slices.DeleteFunc(slices.Clone(members[r.CodigoGrupo]), func(id int64) bool { return id == both || id == left.UserID })...)
				if got := payloadRUTs(r.Payload); !slices.Equal(got, want) {
					t.Errorf("section %s sends %v, want its group's students %v", r.CodigoGrupo, got, want)
				}
				if r.Payload.CantActividadSincronica == nil || *r.Payload.CantActividadSincronica == 0 {
					t.Errorf("section %s: course counts not computed over its students: %+v", r.CodigoGrupo, r.Payload.CantActividadSincronica)
				}
			}
			reasons := map[string]string{}
			notes := map[string]string{}
			for _, r := range results {
				if r.CourseID != gid {
					continue
				}
				for _, x := range r.Excluded {
					reasons[x.UserID] = strings.Join(x.Reasons, "; ")
				}
				for _, n := range r.Notes {
					if n.UserID != "" {
						notes[n.UserID] = r.CodigoGrupo + ": " + n.Msg
					}
				}
			}
			if r := reasons[strconv.FormatInt(lone, 10)]; !strings.Contains(r, "no está en ningún grupo de Moodle con código de sección SENCE (grupos del curso: COD-SEC-000106001, COD-SEC-000106002): agréguelo") {
				t.Errorf("student in no SENCE group: %q", r)
			}
			if r := reasons[strconv.FormatInt(both, 10)]; !strings.Contains(r, "está en 2 grupos SENCE (COD-SEC-000106001, COD-SEC-000106002) y SENCE lo inscribe en una sola sección") {
				t.Errorf("student in two SENCE groups: %q", r)
			}
			if len(reasons) != 2 {
				t.Errorf("excluded %v, want only the two students without one section", reasons)
			}
			// The one who left is in the morning group: said under it.
			if n := notes[strconv.FormatInt(left.UserID, 10)]; !strings.HasPrefix(n, demo.GroupCodes[0]+": dejó de estar activo") {
				t.Errorf("the student who left: %q", n)
			}
		})
	}
}

// TestLeaversSend: with params.leavers: send, a student whose enrolment
// was suspended (Moodle keeps their data) is sent one last time with
// estado 3, and nobody else changes.
func TestLeaversSend(t *testing.T) {
	dsn, ds := loadDemo(t, "sqlite", "mdl_", demo.DemoConfig())
	report, _ := runBuild(t, paramsPlan(t, dsn, ""), assemble.Options{Check: validator(t)})
	send, _ := runBuild(t, paramsPlan(t, dsn, "  leavers: send\n"), assemble.Options{Check: validator(t)})
	find := func(results []*assemble.CourseResult, courseID int64, r string) *payload.Alumno {
		for _, res := range results {
			if res.CourseID != strconv.FormatInt(courseID, 10) || res.Payload == nil {
				continue
			}
			for i, a := range res.Payload.ListaAlumnos {
				if fmt.Sprintf("%d-%s", a.RutAlumno, a.DvAlumno) == r {
					return &res.Payload.ListaAlumnos[i]
				}
			}
		}
		return nil
	}
	sent := 0
	for _, name := range []string{"left", "suspended", "enrol-disabled"} {
		c := ds.CasesFor(name)[0]
		r := ds.User(c.UserID).RUT
		if a := find(report, c.CourseID, r); a != nil {
			t.Errorf("%s: sent by default", name)
		}
		a := find(send, c.CourseID, r)
		if a == nil {
			t.Errorf("%s: not sent with leavers: send", name)
			continue
		}
		sent++
		if a.Estado != 3 || len(a.ListaModulos) == 0 {
			t.Errorf("%s: estado %d with %d modules, want 3 with its modules", name, a.Estado, len(a.ListaModulos))
		}
	}
	if n := func(rs []*assemble.CourseResult) (n int) {
		for _, r := range rs {
			if r.Payload != nil {
				n += len(r.Payload.ListaAlumnos)
			}
		}
		return n
	}; n(send) != n(report)+sent {
		t.Errorf("leavers: send sends %d students, report %d: want only the %d who left added", n(send), n(report), sent)
	}
}
