package sence

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Scope is how much of a send an error code affects; it decides what a
// caller corrects and resends.
type Scope int

const (
	// ScopeStudent affects only the student it names; the others were stored.
	ScopeStudent Scope = iota
	// ScopeCourse affects every student of the course: nothing was stored.
	ScopeCourse
	// ScopeSend affects the whole call (authentication): nothing was stored.
	ScopeSend
)

func (s Scope) String() string {
	switch s {
	case ScopeCourse:
		return "curso"
	case ScopeSend:
		return "envío"
	default:
		return "alumno"
	}
}

// CodeInfo describes one error code of the Gestor Intermedio: SENCE's own
// text and, for a course coordinator, what it means and what to do.
type CodeInfo struct {
	Code string
	// Text is SENCE's text; {…} marks the values SENCE fills in.
	Text    string
	Meaning string
	Action  string
	Scope   Scope
	// Transient codes come from a SENCE-side problem: the same data can be
	// resent later unchanged.
	Transient bool

	pattern *regexp.Regexp // matches the normalised Text; nil when Text is free
}

// Format fills the {…} placeholders of Text in order with args. The
// simulator builds its messages with it so that both sides share one text.
func (i CodeInfo) Format(args ...string) string {
	out := placeholder.ReplaceAllStringFunc(i.Text, func(p string) string {
		if len(args) == 0 {
			return p
		}
		v := args[0]
		args = args[1:]
		return v
	})
	return out
}

var placeholder = regexp.MustCompile(`\{[^}]*\}`)

// codes is the catalogue, in SENCE's order. The order matters to Match:
// 010 and 011 read like 012 with more words, so they are tried first.
var codes = []CodeInfo{
	{Code: "001", Text: "Token inválido", Scope: ScopeSend,
		Meaning: "SENCE no aceptó la identificación del OTEC (idSistema, RUT OTEC o token); no se guardó nada de este envío",
		Action:  "primero compruebe, en el Administrador de Token SENCE (https://sistemas.sence.cl/rts), que el token configurado sea el que aparece ahí para el RUT de este OTEC (sence.rutOtec: sin puntos, con guion y dígito verificador), sin caducar y escrito en mayúsculas; solo si no aparece o caducó, genere uno nuevo ahí («Generar nuevo Token»), configúrelo y vuelva a enviar"},
	{Code: "002", Text: "Descripción del error ocurrido", Scope: ScopeSend, Transient: true,
		Meaning: "falló el servicio de autenticación de SENCE (conexión o servicio caído); no es un problema de los datos y no se guardó nada",
		Action:  "vuelva a enviar más tarde dentro del horario de 22:00 a 00:00; si se repite, escriba a adminlearning@sence.cl con el mensaje"},
	{Code: "003", Text: "El curso {codigoCurso} no se encuentra registrado", Scope: ScopeCourse,
		Meaning: "el código del curso no existe en el Gestor Intermedio para este OTEC; no se guardó el avance de ningún alumno del curso",
		Action:  "revise que el nombre corto del curso en Moodle sea exactamente el código entregado por SIC (sicadministrativo.sence.cl, Mantenedores > Cursos), igual que el código de grupo, y que el curso sea de este OTEC"},
	{Code: "010", Text: "El alumno {rutAlumno} no se encuentra registrado en el módulo {codigoModulo}", Scope: ScopeStudent,
		Meaning: "el alumno está inscrito en SENCE, pero no en ese módulo (o el código del módulo no es el de SIC)",
		Action:  "revise el código del módulo en Moodle (nombre de la sección o de la categoría de calificaciones) contra los módulos del curso en SIC, y la inscripción del alumno en el módulo"},
	{Code: "011", Text: "El alumno {rutAlumno} no se encuentra registrado en este curso.", Scope: ScopeStudent,
		Meaning: "el alumno existe en SENCE, pero no está inscrito en este curso",
		Action:  "revise que el alumno esté inscrito en este curso y grupo en SIC y que el RUT en Moodle (campo Número de ID) sea el suyo"},
	{Code: "012", Text: "El alumno {rutAlumno} no se encuentra registrado.", Scope: ScopeStudent,
		Meaning: "el alumno no está inscrito en SENCE; solo este alumno quedó sin enviar, los demás se procesaron",
		Action:  "revise el RUT en Moodle (campo Número de ID) y la inscripción del alumno en SIC"},
	{Code: "021", Text: "alumno.tiempoConectividad inválido", Scope: ScopeStudent,
		Meaning: "el tiempo de conexión del alumno en el curso no es un número entero de segundos o es negativo",
		Action:  "revise el cálculo de dedicación del alumno (bloque «Dedicación al curso» o registro de actividad)"},
	{Code: "022", Text: "alumno.porcentajeAvance inválido", Scope: ScopeStudent,
		Meaning: "el porcentaje de avance del alumno en el curso no es un número entero entre 0 y 100",
		Action:  "revise la finalización de actividades del curso en Moodle y el cálculo del porcentaje"},
	{Code: "023", Text: "modulo.tiempoConectividad inválido", Scope: ScopeStudent,
		Meaning: "el tiempo de conexión del alumno en un módulo no es un número entero de segundos o es negativo",
		Action:  "revise el cálculo de dedicación por módulo de este alumno"},
	{Code: "024", Text: "modulo.porcentajeAvance inválido", Scope: ScopeStudent,
		Meaning: "el porcentaje de avance de un módulo no es un número entero entre 0 y 100",
		Action:  "revise la finalización de las actividades obligatorias del módulo en Moodle"},
	{Code: "025", Text: "modulo.porcentajeAvance debe ser mayor al anterior {porcentajeAnterior}", Scope: ScopeStudent,
		Meaning: "el avance enviado en un módulo es menor que el que SENCE ya tiene; SENCE no acepta retrocesos y no actualizó al alumno",
		Action:  "si el avance no cambió desde el último envío no hay nada que corregir; si bajó, revise en Moodle por qué (actividades reiniciadas o finalización desmarcada): SENCE conserva el valor anterior"},
	{Code: "026", Text: "modulo.fechaInicio inválido", Scope: ScopeStudent,
		Meaning: "la fecha de inicio de un módulo no tiene el formato aaaa-mm-dd",
		Action:  "revise la fecha de la primera interacción del alumno con el módulo"},
	{Code: "027", Text: "modulo.fechaFin inválido", Scope: ScopeStudent,
		Meaning: "la fecha de fin de un módulo no tiene el formato aaaa-mm-dd (o es anterior a la de inicio)",
		Action:  "revise la fecha de la última interacción del alumno con el módulo"},
	{Code: "028", Text: "modulo.notaModulo inválido", Scope: ScopeStudent,
		Meaning: "la nota del módulo no es un número o es negativa",
		Action:  "revise la categoría de calificaciones del módulo en Moodle (porcentaje de 0 a 100)"},
	{Code: "029", Text: "modulo.cantActividadSincronica inválido", Scope: ScopeStudent,
		Meaning: "la cantidad de actividades sincrónicas del módulo no es un número entero o es negativa",
		Action:  "revise las clases sincrónicas (BigBlueButton) configuradas en el módulo"},
	{Code: "030", Text: "modulo.cantActividadAsincronica inválido", Scope: ScopeStudent,
		Meaning: "la cantidad de actividades asincrónicas del módulo no es un número entero o es negativa",
		Action:  "revise las actividades con finalización configuradas en el módulo"},
	{Code: "031", Text: "alumno.evaluacionFinal inválido", Scope: ScopeStudent,
		Meaning: "la evaluación final del alumno no es un número o es negativa",
		Action:  "revise el total del curso en el libro de calificaciones de Moodle (porcentaje de 0 a 100)"},
	{Code: "032", Text: "curso.cantActividadSincronica inválido", Scope: ScopeCourse,
		Meaning: "la cantidad de actividades sincrónicas del curso no es un número entero o es negativa; no se guardó ningún alumno del curso",
		Action:  "revise las clases sincrónicas (BigBlueButton) configuradas en el curso"},
	{Code: "033", Text: "curso.cantActividadAsincronica inválido", Scope: ScopeCourse,
		Meaning: "la cantidad de actividades asincrónicas del curso no es un número entero o es negativa; no se guardó ningún alumno del curso",
		Action:  "revise las actividades con finalización configuradas en el curso"},
}

func init() {
	for i := range codes {
		if codes[i].Code == "002" { // free text: the description of the failure
			continue
		}
		codes[i].pattern = textPattern(codes[i].Text)
	}
}

// textPattern turns a SENCE text into a regexp over normalised messages:
// placeholders match anything, a final period is optional, and the match may
// sit inside a longer message ("…, hay uno o más errores").
func textPattern(text string) *regexp.Regexp {
	norm := strings.TrimSuffix(normalize(text), ".")
	parts := placeholder.Split(norm, -1)
	for i, p := range parts {
		parts[i] = regexp.QuoteMeta(p)
	}
	return regexp.MustCompile(strings.Join(parts, `(.*?)`))
}

// accents folds the Spanish letters SENCE writes with and without accents.
var accents = strings.NewReplacer("á", "a", "é", "e", "í", "i", "ó", "o", "ú", "u", "ü", "u", "Á", "a", "É", "e", "Í", "i", "Ó", "o", "Ú", "u")

func normalize(s string) string {
	s = strings.ToLower(accents.Replace(s))
	return strings.Join(strings.Fields(s), " ")
}

// Codes returns the whole catalogue in SENCE's order.
func Codes() []CodeInfo { return slices.Clone(codes) }

// Lookup returns the catalogue entry of a code ("012", or "12").
func Lookup(code string) (CodeInfo, bool) {
	code = strings.TrimSpace(code)
	if n, err := strconv.Atoi(code); err == nil && n >= 0 && n < 1000 {
		code = fmt.Sprintf("%03d", n)
	}
	for _, c := range codes {
		if c.Code == code {
			return c, true
		}
	}
	return CodeInfo{Code: code}, false
}

// recordedCode is the "[010] " prefix of the history's obs_registro.
var recordedCode = regexp.MustCompile(`^\s*\[\s*(\d{1,3})\s*\]\s*`)

// Match classifies a SENCE error by its text first and by its code second.
// The text wins because the codes are not reliable: the history records a
// progress regression (025 when sending) as "[010] modulo.porcentajeAvance
// debe ser mayor al anterior (20.00000)". A code written as a "[ddd]"
// prefix of message is used when code is empty. ok is false when neither
// the text nor the code is in the catalogue.
func Match(code, message string) (CodeInfo, bool) {
	if m := recordedCode.FindStringSubmatch(message); m != nil {
		if strings.TrimSpace(code) == "" {
			code = m[1]
		}
		message = message[len(m[0]):]
	}
	norm := normalize(message)
	if norm != "" {
		for _, c := range codes {
			if c.pattern != nil && c.pattern.MatchString(norm) {
				return c, true
			}
		}
	}
	return Lookup(code)
}

// previousValue finds the {porcentajeAnterior} of a 025 message in any of
// the ways SENCE writes it: "anterior 40", "anterior (40.00000)",
// "anterior {40}", "anterior: 40,5".
var previousValue = regexp.MustCompile(`anterior\s*[:(\[{]?\s*(-?\d+(?:[.,]\d+)?)`)

// Previous extracts the value SENCE already has from a 025 message.
func Previous(message string) (float64, bool) {
	m := previousValue.FindStringSubmatch(message)
	if m == nil {
		return 0, false
	}
	v, err := strconv.ParseFloat(strings.Replace(m[1], ",", ".", 1), 64)
	return v, err == nil
}

// Explain says in Spanish what an error reported by SENCE means and what
// to do, for a coordinator who only sees the code and SENCE's message.
func Explain(code, message string) string {
	message = strings.TrimSpace(message)
	info, ok := Match(code, message)
	if !ok {
		shown := strings.TrimSpace(code)
		if shown == "" {
			shown = "sin código"
		}
		if message == "" {
			message = "sin mensaje"
		}
		return fmt.Sprintf("[%s] %s: código no documentado por SENCE; revise el mensaje y, si no es claro, consulte a adminlearning@sence.cl", shown, message)
	}
	if message == "" {
		message = info.Text
	}
	meaning, action := info.Meaning, info.Action
	switch info.Code {
	case "025":
		if v, ok := Previous(message); ok {
			meaning += fmt.Sprintf(" (SENCE tiene %s %%)", strconv.FormatFloat(v, 'f', -1, 64))
		}
	case "010":
		if code, ok := rejectedModule(message); ok && LooksCut(code) {
			action = fmt.Sprintf("el código «%s» parece cortado: los códigos de módulo de SIC son completos, como C51737-O14-M1 o PRES028008000558; revise «params.moduleCodePattern» del mapeo, que debe extraer el código entero del nombre de la sección (y de la categoría de calificaciones); luego %s", code, action)
		}
	}
	return fmt.Sprintf("[%s] %s: %s; %s", info.Code, strings.TrimSuffix(message, "."), meaning, action)
}

// moduleInMessage finds the module code in a 010 message ("… en el
// módulo C51737-O14-M1").
var moduleInMessage = regexp.MustCompile(`(?i)m(?:ó|o)dulo\s+(\S+)`)

func rejectedModule(message string) (string, bool) {
	m := moduleInMessage.FindStringSubmatch(message)
	if m == nil {
		return "", false
	}
	return strings.TrimRight(m[1], ".,;"), true
}

// moduleShape is every whole module code shape in SENCE's documents:
// C51737-O14-M1 (with the letter O or, in the 2021 slides, a zero),
// C46982-O565656565-M1, and two to four letters then digits
// (PRES028008000558, ELE028837032039, LE028837032039).
var moduleShape = regexp.MustCompile(`^(?:C[0-9]+-[O0][0-9]+-M[0-9]+|[A-Z]{2,4}[0-9]{6,})$`)

// LooksCut reports whether a module code SENCE rejected looks like part of
// a code rather than a whole one (it starts with "-", or has none of the
// documented shapes, as "-M1" or "O14-M1" cut from "C51737-O14-M1"): then
// the pattern that extracts it from the section name is the likely cause.
func LooksCut(code string) bool {
	if code == "" {
		return false
	}
	return strings.HasPrefix(code, "-") || strings.HasSuffix(code, "-") || !moduleShape.MatchString(code)
}
