// Command membw measures this machine's memory copy bandwidth (GB/s), the
// physical limit that scripts/bench-scale.sh compares onnxopt's throughput
// with: a pass that reads and writes every weight once cannot beat it.
package main

import (
	"flag"
	"fmt"
	"time"
)

func main() {
	size := flag.Int("mb", 512, "buffer size in MiB")
	runs := flag.Int("runs", 5, "copies to time (the best is reported)")
	flag.Parse()
	src := make([]byte, *size<<20)
	dst := make([]byte, *size<<20)
	for i := range src {
		src[i] = byte(i)
	}
	copy(dst, src) // fault the pages in
	best := time.Duration(1 << 62)
	for r := 0; r < *runs; r++ {
		t0 := time.Now()
		copy(dst, src)
		if d := time.Since(t0); d < best {
			best = d
		}
	}
	fmt.Printf("%.2f\n", float64(len(src))/best.Seconds()/1e9)
}
