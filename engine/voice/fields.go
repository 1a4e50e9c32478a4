package voice

import (
	"strconv"
	"strings"
)

// fieldWords are SENCE's field names in plain Spanish; a test holds them
// to payload.Keys.
var fieldWords = map[string]string{
	"rutOtec":                  "el RUT de la OTEC",
	"idSistema":                "el id del sistema",
	"token":                    "el token",
	"codigoOferta":             "el código del curso",
	"codigoGrupo":              "el código de la sección",
	"codigoEnvio":              "el código de envío",
	"cantActividadSincronica":  "la cantidad de actividades sincrónicas",
	"cantActividadAsincronica": "la cantidad de actividades asincrónicas",
	"listaAlumnos":             "la lista de alumnos",
	"rutAlumno":                "el RUT",
	"dvAlumno":                 "el dígito verificador del RUT",
	"tiempoConectividad":       "el tiempo de conexión",
	"estado":                   "el estado",
	"porcentajeAvance":         "el porcentaje de avance",
	"fechaInicio":              "la fecha de inicio",
	"fechaFin":                 "la fecha de término",
	"fechaEjecucion":           "la fecha de ejecución",
	"evaluacionFinal":          "la evaluación final",
	"listaModulos":             "la lista de módulos",
	"codigoModulo":             "el código del módulo",
	"notaModulo":               "la nota del módulo",
	"listaActividades":         "la lista de actividades",
	"codigoActividad":          "el código de la actividad",
}

// HasField says whether name is a SENCE field Field can name.
func HasField(name string) bool { _, ok := fieldWords[name]; return ok }

// Path names a place in an enviarAvance body in plain Spanish:
// "listaAlumnos[3].listaModulos[0].fechaFin" is «la fecha de término del
// módulo C51737-O14-M1 del alumno». module gives a module's code from the
// student's and the module's index ("" when unknown: the module is then
// named by its position). A name outside SENCE's fields is kept as it is.
func Path(path string, module func(student, mod int) string) string {
	if path == "" {
		return "el envío"
	}
	student, mod, act := -1, -1, -1
	last := ""
	for _, seg := range strings.Split(path, ".") {
		name, idx := seg, -1
		if i := strings.IndexByte(seg, '['); i > 0 && strings.HasSuffix(seg, "]") {
			name = seg[:i]
			if n, err := strconv.Atoi(seg[i+1 : len(seg)-1]); err == nil {
				idx = n
			}
		}
		switch {
		case name == "listaAlumnos" && idx >= 0:
			student = idx
		case name == "listaModulos" && idx >= 0:
			mod = idx
		case name == "listaActividades" && idx >= 0:
			act = idx
		default:
			last = name
		}
	}
	modName := func() string {
		if module != nil && student >= 0 {
			if code := module(student, mod); code != "" {
				return "el módulo " + code
			}
		}
		return "el módulo " + strconv.Itoa(mod+1) + " de la lista"
	}
	var noun string
	switch {
	case last != "":
		noun = fieldWords[last]
		if noun == "" {
			noun = "«" + last + "»"
		}
	case act >= 0:
		noun, act = "la actividad "+strconv.Itoa(act+1), -1
	case mod >= 0:
		return modName()
	default:
		return "el alumno"
	}
	if act >= 0 {
		noun += " de la actividad " + strconv.Itoa(act+1)
	}
	switch {
	case mod >= 0:
		noun += " d" + modName() // «del módulo …»
	case student >= 0 && act < 0:
		noun += " del alumno"
	}
	return noun
}

// Field names a field a mapping computes («fechaFin» is «la fecha de
// término»); a name outside SENCE's fields (a var) is quoted as it is.
func Field(name string) string { return Path(name, nil) }
