package assemble

import (
	"fmt"
	"math"

	"github.com/otec-tools/sence-engine/engine/sence/payload"
)

// Conversions from expression results to SENCE's types. They are strict: a
// value of the wrong type is a problem of the mapping or of the data, and
// the message says which field and what came instead.

func intOf(sc scope, name string) (int64, bool, error) {
	v, ok := sc[name]
	if !ok || v == nil {
		return 0, false, nil
	}
	switch x := v.(type) {
	case int:
		return int64(x), true, nil
	case int64:
		return x, true, nil
	case float64:
		if x != math.Trunc(x) || math.IsInf(x, 0) || math.IsNaN(x) {
			return 0, true, fmt.Errorf("%s: debe ser un número entero; se obtuvo %v (use pct(), floor() o round())", name, x)
		}
		return int64(x), true, nil
	}
	return 0, true, fmt.Errorf("%s: debe ser un número entero; se obtuvo %q (%T)", name, fmt.Sprint(v), v)
}

func floatOf(sc scope, name string) (*float64, error) {
	v, ok := sc[name]
	if !ok || v == nil {
		return nil, nil
	}
	var f float64
	switch x := v.(type) {
	case int:
		f = float64(x)
	case int64:
		f = float64(x)
	case float64:
		f = x
	default:
		return nil, fmt.Errorf("%s: debe ser un número; se obtuvo %q", name, fmt.Sprint(v))
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, fmt.Errorf("%s: no es un número válido", name)
	}
	return &f, nil
}

func strOf(sc scope, name string) (string, error) {
	v, ok := sc[name]
	if !ok || v == nil {
		return "", nil
	}
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("%s: debe ser un texto; se obtuvo %v", name, v)
	}
	return s, nil
}

// need reports a required field that came out empty.
func need(sc scope, name string) error {
	if _, mapped := sc[name]; !mapped {
		return nil // not mapped: the compiler already said so
	}
	if v := sc[name]; v == nil || v == "" {
		return fmt.Errorf("%s: no tiene valor", name)
	}
	return nil
}

type conv struct {
	sc  scope
	err error
}

func (c *conv) str(name string, dst *string) {
	if c.err != nil {
		return
	}
	if c.err = need(c.sc, name); c.err != nil {
		return
	}
	*dst, c.err = strOf(c.sc, name)
}

func (c *conv) int64(name string, dst *int64) {
	if c.err != nil {
		return
	}
	if c.err = need(c.sc, name); c.err != nil {
		return
	}
	*dst, _, c.err = intOf(c.sc, name)
}

func (c *conv) int(name string, dst *int) {
	var v int64
	c.int64(name, &v)
	*dst = int(v)
}

func (c *conv) optInt(name string, dst **int) {
	if c.err != nil {
		return
	}
	v, ok, err := intOf(c.sc, name)
	if err != nil {
		c.err = err
		return
	}
	if ok {
		n := int(v)
		*dst = &n
	}
}

func (c *conv) optFloat(name string, dst **float64) {
	if c.err != nil {
		return
	}
	*dst, c.err = floatOf(c.sc, name)
}

func convertCourse(sc scope, p *payload.Course) error {
	c := conv{sc: sc}
	c.str("codigoOferta", &p.CodigoOferta)
	c.str("codigoGrupo", &p.CodigoGrupo)
	c.optInt("cantActividadSincronica", &p.CantActividadSincronica)
	c.optInt("cantActividadAsincronica", &p.CantActividadAsincronica)
	return c.err
}

func convertStudent(sc scope, p *payload.Alumno) error {
	c := conv{sc: sc}
	c.int64("rutAlumno", &p.RutAlumno)
	c.str("dvAlumno", &p.DvAlumno)
	c.int64("tiempoConectividad", &p.TiempoConectividad)
	c.int("estado", &p.Estado)
	c.int("porcentajeAvance", &p.PorcentajeAvance)
	c.str("fechaInicio", &p.FechaInicio)
	c.str("fechaFin", &p.FechaFin)
	c.str("fechaEjecucion", &p.FechaEjecucion)
	c.optFloat("evaluacionFinal", &p.EvaluacionFinal)
	return c.err
}

func convertModule(sc scope, p *payload.Modulo) error {
	c := conv{sc: sc}
	c.str("codigoModulo", &p.CodigoModulo)
	c.int64("tiempoConectividad", &p.TiempoConectividad)
	c.int("estado", &p.Estado)
	c.int("porcentajeAvance", &p.PorcentajeAvance)
	c.str("fechaInicio", &p.FechaInicio)
	c.str("fechaFin", &p.FechaFin)
	c.optFloat("notaModulo", &p.NotaModulo)
	c.optInt("cantActividadSincronica", &p.CantActividadSincronica)
	c.optInt("cantActividadAsincronica", &p.CantActividadAsincronica)
	return c.err
}

func convertActivity(sc scope, p *payload.Actividad) error {
	c := conv{sc: sc}
	c.str("codigoActividad", &p.CodigoActividad)
	return c.err
}
