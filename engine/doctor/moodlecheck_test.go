package doctor_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/otec-tools/sence-engine/engine/doctor"
	"github.com/otec-tools/sence-engine/engine/mapping"
	"github.com/otec-tools/sence-engine/engine/moodledb"
	"github.com/otec-tools/sence-engine/engine/moodledb/dbtest"
	"github.com/otec-tools/sence-engine/engine/plan"
	"github.com/otec-tools/sence-engine/engine/source"
)

// TestCheckDedicationBlock reads the dedication block's session limit from
// config_plugins on every engine: 2700 s is what SENCE asks for; anything
// else, a missing setting (the block's hour) or an unreadable one is a
// warning that says where to change it.
func TestCheckDedicationBlock(t *testing.T) {
	for _, dialect := range moodledb.Dialects {
		t.Run(dbtest.Name(dialect), func(t *testing.T) {
			ctx := context.Background()
			raw, dsn := dbtest.OpenDSN(t, dialect)
			if err := moodledb.CreateSchema(ctx, raw, dialect, "mdl_"); err != nil {
				t.Fatal(err)
			}
			pl := demoPlan(t, dialect, dsn, "mdl_")
			db, err := source.Open(ctx, dialect, dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			set := func(value string) {
				t.Helper()
				if _, err := raw.ExecContext(ctx, "DELETE FROM mdl_config_plugins"); err != nil {
					t.Fatal(err)
				}
				if value == "" {
					return
				}
				if _, err := raw.ExecContext(ctx, "INSERT INTO mdl_config_plugins (plugin, name, value) VALUES ('block_dedication', 'session_limit', '"+value+"')"); err != nil {
					t.Fatal(err)
				}
			}
			for _, c := range []struct {
				value string
				want  []string // "" = no warning
			}{
				{"2700", nil},
				{"3600", []string{"tras 60 minutos sin clics", "session_limit = 3600 s", "SENCE pide 45 minutos", "Extensiones > Bloques > Dedicación al curso", "blocksettingdedication", "recalculate.php"}},
				{"9000", []string{"tras 150 minutos"}},
				{"", []string{"no tiene guardado su límite de sesión", "60 minutos", "blocksettingdedication"}},
				{"abc", []string{"no se pudo leer", "«abc»", "blocksettingdedication"}},
			} {
				set(c.value)
				ds := doctor.CheckDedicationBlock(ctx, db, pl)
				if c.want == nil {
					if len(ds) != 0 {
						t.Errorf("session_limit %q: %s", c.value, ds.Error())
					}
					continue
				}
				if len(ds) != 1 || ds.HasErrors() {
					t.Errorf("session_limit %q: want one warning, got %q", c.value, ds.Error())
					continue
				}
				for _, w := range c.want {
					if !strings.Contains(ds[0].Msg, w) {
						t.Errorf("session_limit %q: %q lacks %q", c.value, ds[0].Msg, w)
					}
				}
			}
			// A Moodle without the table: said, not skipped.
			if _, err := raw.ExecContext(ctx, "DROP TABLE mdl_config_plugins"); err != nil {
				t.Fatal(err)
			}
			if ds := doctor.CheckDedicationBlock(ctx, db, pl); len(ds) != 1 || !strings.Contains(ds[0].Msg, "no se pudo leer") {
				t.Errorf("without config_plugins: %q", ds.Error())
			}
			// Dedication from the log: the block's setting does not matter.
			for _, q := range pl.Queries {
				if q.Name == "dedication_block" {
					q.Skipped = true
				}
			}
			if ds := doctor.CheckDedicationBlock(ctx, db, pl); len(ds) != 0 {
				t.Errorf("with the block unused: %q", ds.Error())
			}
		})
	}
}

// demoPlan compiles the demo mapping pointed at another database.
func demoPlan(t testing.TB, driver, dsn, prefix string) *plan.Plan {
	t.Helper()
	site := fmt.Sprintf("version: 1\nextends: ../../../examples/moodle-demo/mapping.yaml\nsource:\n  driver: %s\n  dsn: %q\n  prefix: %s\n", driver, dsn, prefix)
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
