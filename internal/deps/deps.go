// Package deps pins the project's direct dependencies while the packages
// that use them are being written; it is removed once each is imported.
package deps

import (
	_ "github.com/Masterminds/squirrel"
	_ "github.com/expr-lang/expr"
	_ "github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib"
	_ "github.com/xeipuuv/gojsonschema"
	_ "go.yaml.in/yaml/v3"
	_ "modernc.org/sqlite"
)
