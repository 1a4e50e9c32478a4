package nightly

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"testing"

	"github.com/otec-tools/sence-engine/engine/sence/payload"
)

// treeHash is how the ledger's hashes were first made: the JSON decoded
// into generic values and encoded again (keys sorted). canonicalHash must
// give the same hash without the generic values.
func treeHash(b []byte) (string, bool) {
	var tree any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&tree); err != nil {
		return "", false
	}
	b, err := json.Marshal(tree)
	if err != nil {
		return "", false
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), true
}

// TestCanonicalHashAsBefore: payloads hash as they did (the ledger keeps
// these hashes: a changed hash would resend a course the same night).
func TestCanonicalHashAsBefore(t *testing.T) {
	nota := 4.55
	cant := 0
	c := *course("C-1", alumno(ana, 50, 50, 50), alumno(bruno, 40, 40)).Payload
	c.ListaAlumnos[0].EvaluacionFinal = &nota
	c.CantActividadSincronica = &cant
	c.CodigoGrupo = "G<1>&\u2028ñ"
	for _, v := range []any{c, c.ListaAlumnos[0], payload.Course{}} {
		b, _ := json.Marshal(v)
		want, _ := treeHash(b)
		if got := canonicalHash(v); got != want {
			t.Errorf("%T: %s, want %s", v, got, want)
		}
	}
	// Pinned: the hash of this payload as the ledger has it.
	if got := PayloadHash(*course("C-1", alumno(ana, 50, 50, 50)).Payload); got != pinnedHash {
		t.Errorf("PayloadHash changed: %s (the ledger has %s)", got, pinnedHash)
	}
}

const pinnedHash = "0112ee3ed11d2699a4b0567aa6543ea3ff23c9784068043e58f152130344fe81"

// FuzzCanonicalHash: any payload hashes as its generic values' encoding
// does.
func FuzzCanonicalHash(f *testing.F) {
	f.Add("CAP-1", "G<1>&", "2026-11-20", int64(12345678), 50, 4.55, true, "\u2028")
	f.Add("", "", "", int64(0), 0, 0.0, false, "")
	f.Fuzz(func(t *testing.T, oferta, grupo, fecha string, rut int64, pct int, nota float64, opt bool, code string) {
		a := payload.Alumno{RutAlumno: rut, DvAlumno: code, PorcentajeAvance: pct, FechaInicio: fecha,
			ListaModulos: []payload.Modulo{{CodigoModulo: code, ListaActividades: []payload.Actividad{{CodigoActividad: grupo}}}, {}}}
		c := payload.Course{CodigoOferta: oferta, CodigoGrupo: grupo, CodigoEnvio: code, ListaAlumnos: []payload.Alumno{a, {}}}
		if opt {
			c.CantActividadSincronica, a.EvaluacionFinal, c.ListaAlumnos[0].ListaModulos[1].NotaModulo = &pct, &nota, &nota
			c.ListaAlumnos[1].ListaModulos = []payload.Modulo{}
		}
		b, err := json.Marshal(c)
		if err != nil {
			return // NaN or an infinity: not a payload
		}
		want, _ := treeHash(b)
		if got := canonicalHash(c); got != want {
			t.Fatalf("%s: %s, want %s", b, got, want)
		}
	})
}
