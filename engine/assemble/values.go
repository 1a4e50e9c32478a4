package assemble

import "github.com/otec-tools/sence-engine/engine/sence/payload"

// Values are what a student's payload tells SENCE, as the JSON reports
// (resumen.json, run-N.json) list them beside the student's name: the
// course's progress, time and estado and each module's.
type Values struct {
	PorcentajeAvance   int            `json:"porcentajeAvance"`
	TiempoConectividad int64          `json:"tiempoConectividad"`
	Estado             int            `json:"estado"`
	FechaInicio        string         `json:"fechaInicio"`
	FechaFin           string         `json:"fechaFin"`
	EvaluacionFinal    *float64       `json:"evaluacionFinal,omitempty"`
	Modulos            []ModuleValues `json:"modulos"`
}

// ModuleValues are what a module of a student's payload tells SENCE.
type ModuleValues struct {
	CodigoModulo       string   `json:"codigoModulo"`
	PorcentajeAvance   int      `json:"porcentajeAvance"`
	TiempoConectividad int64    `json:"tiempoConectividad"`
	Estado             int      `json:"estado"`
	NotaModulo         *float64 `json:"notaModulo,omitempty"`
}

// ValuesOf reads the values of a student's payload.
func ValuesOf(a payload.Alumno) *Values {
	v := &Values{PorcentajeAvance: a.PorcentajeAvance, TiempoConectividad: a.TiempoConectividad, Estado: a.Estado,
		FechaInicio: a.FechaInicio, FechaFin: a.FechaFin, EvaluacionFinal: a.EvaluacionFinal, Modulos: []ModuleValues{}}
	for _, m := range a.ListaModulos {
		v.Modulos = append(v.Modulos, ModuleValues{CodigoModulo: m.CodigoModulo, PorcentajeAvance: m.PorcentajeAvance,
			TiempoConectividad: m.TiempoConectividad, Estado: m.Estado, NotaModulo: m.NotaModulo})
	}
	return v
}
