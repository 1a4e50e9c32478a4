// Package nettest gives tests network addresses that behave the same on
// every run, however many tests start servers at the same time.
package nettest
