package sence

import (
	"github.com/otec-tools/sence-engine/engine/rut"
	"github.com/otec-tools/sence-engine/engine/sence/payload"
)

// SENCE's integration test: there is no sandbox, so an OTEC proves its
// credentials and connectivity by sending this fixed course to production
// ("Estructura de pruebas para integración").
const (
	IntegrationCourse = "CAP-15-01-13-0446"
	IntegrationModule = "C46982-O565656565-M1"
)

// IntegrationStudents are the test students SENCE registered in the
// integration course.
var IntegrationStudents = []string{"9445435-2", "10312870-6", "10176851-1"}

// IntegrationTestPayload is SENCE's integration test course: progress and
// connection time kept at 0 so that real data is never touched, estado 1,
// the course ending 2021-12-31. It carries only the older field set
// (no evaluacionFinal, notaModulo or activity counts), as SENCE's sheet.
// fechaInicio is 2021-01-01 and fechaEjecucion the course's last day, so
// it lies between them. RutOtec, IDSistema and Token are left for Send.
func IntegrationTestPayload(codigoEnvio string) payload.Course {
	const start, end = "2021-01-01", "2021-12-31"
	c := payload.Course{
		IDSistema:    payload.IDSistema,
		CodigoOferta: IntegrationCourse,
		CodigoGrupo:  IntegrationCourse,
		CodigoEnvio:  codigoEnvio,
	}
	for _, s := range IntegrationStudents {
		r, err := rut.Parse(s)
		if err != nil {
			panic(err) // fixed data, checked by a test
		}
		c.ListaAlumnos = append(c.ListaAlumnos, payload.Alumno{
			RutAlumno: r.Number, DvAlumno: r.DV,
			TiempoConectividad: 0, Estado: payload.EstadoCursando, PorcentajeAvance: 0,
			FechaInicio: start, FechaFin: end, FechaEjecucion: end,
			ListaModulos: []payload.Modulo{{
				CodigoModulo:       IntegrationModule,
				TiempoConectividad: 0, Estado: payload.EstadoCursando, PorcentajeAvance: 0,
				FechaInicio: start, FechaFin: end,
				ListaActividades: []payload.Actividad{{CodigoActividad: "Prueba de integración"}},
			}},
		})
	}
	return c
}
