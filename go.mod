module github.com/otec-tools/sence-engine

go 1.25
