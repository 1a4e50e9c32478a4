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

// Key is one key of a level of SENCE's enviarAvance body.
type Key struct {
	Name string
	Kind Kind
	// Required keys exist in every edition of SENCE's documents; the
	// others were added by the newest edition.
	Required bool
	// Computed keys are the fields a mapping computes (Fields); the
	// others (authentication, codigoEnvio, the lists) the engine fills.
	Computed bool
	// Optional keys are omitted from the JSON when unset.
	Optional bool
}

// KindList is a key holding the next level's list.
const KindList Kind = KindDate + 1

// Keys is the one declaration of SENCE's fields: every key of each level
// (course, student, module, activity) in the order the body writes them.
// Fields, the schema's checks (engine/sence/schema), validate's field and
// required-field checks (engine/plan) and the editor schema's field names
// (schemas/mapping.schema.json, generated) are derived from it; a test
// holds SENCE's JSON Schema to it.
var Keys = [4][]Key{
	{
		{"rutOtec", KindString, true, false, false},
		{"idSistema", KindInt, true, false, false},
		{"token", KindString, true, false, false},
		{"codigoOferta", KindString, true, true, false},
		{"codigoGrupo", KindString, true, true, false},
		{"codigoEnvio", KindString, false, false, true},
		{"cantActividadSincronica", KindInt, false, true, true},
		{"cantActividadAsincronica", KindInt, false, true, true},
		{"listaAlumnos", KindList, true, false, false},
	},
	{
		{"rutAlumno", KindInt, true, true, false},
		{"dvAlumno", KindString, true, true, false},
		{"tiempoConectividad", KindInt, true, true, false},
		{"estado", KindInt, true, true, false},
		{"porcentajeAvance", KindInt, true, true, false},
		{"fechaInicio", KindDate, true, true, false},
		{"fechaFin", KindDate, true, true, false},
		{"fechaEjecucion", KindDate, true, true, false},
		{"evaluacionFinal", KindNumber, false, true, true},
		{"listaModulos", KindList, true, false, false},
	},
	{
		{"codigoModulo", KindString, true, true, false},
		{"tiempoConectividad", KindInt, true, true, false},
		{"estado", KindInt, true, true, false},
		{"porcentajeAvance", KindInt, true, true, false},
		{"fechaInicio", KindDate, true, true, false},
		{"fechaFin", KindDate, true, true, false},
		{"notaModulo", KindNumber, false, true, true},
		{"cantActividadSincronica", KindInt, false, true, true},
		{"cantActividadAsincronica", KindInt, false, true, true},
		{"listaActividades", KindList, true, false, false},
	},
	{
		{"codigoActividad", KindString, true, true, false},
	},
}

// Fields lists, per level (course, student, module, activity), the fields a
// mapping computes: the Computed keys. Authentication fields, codigoEnvio
// and the lists are filled by the engine.
var Fields = func() (out [4][]FieldSpec) {
	for level, keys := range Keys {
		for _, k := range keys {
			if k.Computed {
				out[level] = append(out[level], FieldSpec{Name: k.Name, Kind: k.Kind, Required: k.Required})
			}
		}
	}
	return out
}()

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
