package mapping_test

import (
	"strings"
	"testing"

	"github.com/otec-tools/sence-engine/engine/mapping"
)

// TestSettingsCheckedOffline: values of source, sence and run that need no
// database are checked where they are written, with the scheduler's and
// the RUT's own rules.
func TestSettingsCheckedOffline(t *testing.T) {
	env := func(k string) (string, bool) {
		switch k {
		case "RUT":
			return "76543210-4", true
		case "TOKEN":
			return "5eebf607-25a9-4db2-a4dd-5d31bdae3220", true
		}
		return "", false
	}
	for _, c := range []struct{ text, err string }{
		{"sence:\n  rutOtec: \"76543210-3\"\n", ""},
		{"sence:\n  rutOtec: \"76543210-4\"\n", "x.yaml:3:12: error: sence.rutOtec «76543210-4» no es un RUT válido: el dígito verificador no corresponde (para 76543210 debería ser 3)"},
		{"sence:\n  rutOtec: ${RUT}\n", "x.yaml:3:12: error: sence.rutOtec «76543210-4» no es un RUT válido: el dígito verificador no corresponde (para 76543210 debería ser 3) (de la variable de entorno RUT)"},
		{"sence:\n  rutOtec: 76.543.210-3\n", "x.yaml:3:12: error: sence.rutOtec «76.543.210-3» debe escribirse como lo pide SENCE, sin puntos, con guion y el dígito verificador en mayúscula: «76543210-3»"},
		{"sence:\n  rutOtec: ${MISSING}\n", "x.yaml:3:12: error: la variable de entorno MISSING no está definida"},
		{"sence:\n  token: ${TOKEN}\n", "x.yaml:3:10: error: el token de SENCE está en minúsculas y SENCE lo rechaza: escríbalo en MAYÚSCULAS (de la variable de entorno TOKEN)"},
		{"run:\n  schedule: \"30 22 * * 1-5\"\n", ""},
		{"run:\n  schedule: \"0 22 * *\"\n", "x.yaml:3:13: error: run.schedule: la expresión cron «0 22 * *» debe tener 5 campos"},
		{"run:\n  schedule: \"0 22 31 2 *\"\n", "x.yaml:3:13: error: run.schedule: la expresión cron «0 22 31 2 *» no se cumple en ninguna fecha"},
		{"run:\n  schedule: \"0 22 * * mon\"\n", "x.yaml:3:13: error: run.schedule: expresión cron «0 22 * * mon», campo día de la semana: «mon» no es un número"},
		{"run:\n  policy: hold\n", ""},
		{"run:\n  policy: keep-mx\n", "x.yaml:3:11: error: política «keep-mx» desconocida en run.policy (use keep-max, hold, send); ¿quiso decir «keep-max»?"},
		{"sence:\n  window:\n    start: \"22:00\"\n    end: \"22:00\"\n", "x.yaml:5:10: error: sence.window: start y end son la misma hora (22:00)"},
		{"sence:\n  window:\n    start: \"10 pm\"\n", "x.yaml:4:12: error: sence.window.start debe ser una hora HH:MM; se obtuvo «10 pm»"},
	} {
		_, ds := mapping.LoadBytes("x.yaml", []byte("version: 1\n"+c.text), mapping.Options{LookupEnv: env})
		errs, _ := ds.Count()
		switch {
		case c.err == "" && errs > 0:
			t.Errorf("%q: %s", c.text, ds.Error())
		case c.err != "" && (errs != 1 || !strings.HasPrefix(ds.Error(), c.err)):
			t.Errorf("%q: got\n%s\nwant one error starting\n%s", c.text, ds.Error(), c.err)
		}
		if strings.Contains(strings.ToLower(ds.Error()), "5eebf607") {
			t.Errorf("the token leaked: %s", ds.Error())
		}
	}
}
