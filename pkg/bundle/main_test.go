package bundle

import (
	"flag"
	"os"
	"testing"
)

// fuzzMinimizeDefault bounds how long `go test -fuzz` minimises each input
// for this package's fuzz targets when -fuzzminimizetime is not given.
//
// The engine minimises every new interesting input (not only crashers)
// before it reports any exec, with an O(n²) pass over the bytes, and its
// default budget is 60 s (golang/go#48820). Archive inputs are hundreds to
// thousands of bytes and each exec touches the file system, so with that
// default the workers spent nearly all their time minimising: FuzzUnpackTar
// showed tens of execs in 12 s. 2000 execs keep minimisation under a second
// per input. To minimise a crasher harder, pass -fuzzminimizetime yourself.
const fuzzMinimizeDefault = "2000x"

func TestMain(m *testing.M) {
	flag.Parse()
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "test.fuzzminimizetime" })
	if !set {
		if err := flag.Set("test.fuzzminimizetime", fuzzMinimizeDefault); err != nil {
			panic(err)
		}
	}
	os.Exit(m.Run())
}
