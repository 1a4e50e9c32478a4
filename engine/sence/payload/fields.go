package payload

// FieldSpec describes a SENCE field a mapping computes at a level.
type FieldSpec struct {
	Name string
	Kind Kind
	// Required fields exist in every edition of SENCE's documents; the
	// others were added by the newest edition and are sent when mapped.
	Required bool
}

// Kind is the JSON type SENCE expects for a field.
type Kind int

const (
	KindString Kind = iota
	KindInt
	KindNumber
	KindDate
)

// Fields lists, per level (course, student, module, activity), the fields a
// mapping computes. Authentication fields, codigoEnvio and the lists are
// filled by the engine.
var Fields = [4][]FieldSpec{
	{
		{"codigoOferta", KindString, true},
		{"codigoGrupo", KindString, true},
		{"cantActividadSincronica", KindInt, false},
		{"cantActividadAsincronica", KindInt, false},
	},
	{
		{"rutAlumno", KindInt, true},
		{"dvAlumno", KindString, true},
		{"tiempoConectividad", KindInt, true},
		{"estado", KindInt, true},
		{"porcentajeAvance", KindInt, true},
		{"fechaInicio", KindDate, true},
		{"fechaFin", KindDate, true},
		{"fechaEjecucion", KindDate, true},
		{"evaluacionFinal", KindNumber, false},
	},
	{
		{"codigoModulo", KindString, true},
		{"tiempoConectividad", KindInt, true},
		{"estado", KindInt, true},
		{"porcentajeAvance", KindInt, true},
		{"fechaInicio", KindDate, true},
		{"fechaFin", KindDate, true},
		{"notaModulo", KindNumber, false},
		{"cantActividadSincronica", KindInt, false},
		{"cantActividadAsincronica", KindInt, false},
	},
	{
		{"codigoActividad", KindString, true},
	},
}

// FieldNames returns the names of the fields of a level.
func FieldNames(level int) []string {
	out := make([]string, len(Fields[level]))
	for i, f := range Fields[level] {
		out[i] = f.Name
	}
	return out
}

// Field returns the spec of a field of a level.
func Field(level int, name string) (FieldSpec, bool) {
	for _, f := range Fields[level] {
		if f.Name == name {
			return f, true
		}
	}
	return FieldSpec{}, false
}
