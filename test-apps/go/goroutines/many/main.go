// many starts a known number of goroutines in known places, waits until they
// have all settled, then writes its own goroutine profile (debug=2, Go's
// view of every goroutine and its creator) to -profile, and waits forever.
// The reader's groups are checked against that profile, and timed on it.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"sync"
	"syscall"
	"time"
)

var (
	never  = make(chan int)
	never2 = make(chan int)
	mu     sync.Mutex
	condMu sync.Mutex
	cond   = sync.NewCond(&condMu)
	spin   int64
)

//go:noinline
func startReceivers(n int) {
	for i := 0; i < n; i++ {
		go func() { <-never }()
	}
}

//go:noinline
func startSelects(n int) {
	for i := 0; i < n; i++ {
		go func() {
			select {
			case <-never:
			case <-never2:
			}
		}()
	}
}

func lockForever() {
	mu.Lock()
	mu.Unlock()
}

//go:noinline
func startLockers(n int) {
	for i := 0; i < n; i++ {
		go lockForever()
	}
}

//go:noinline
func startSleepers(n int) {
	for i := 0; i < n; i++ {
		go time.Sleep(time.Hour)
	}
}

func waitCond() {
	condMu.Lock()
	for {
		cond.Wait()
	}
}

//go:noinline
func startWaiters(n int) {
	for i := 0; i < n; i++ {
		go waitCond()
	}
}

// A goroutine blocked in a system call (_Gsyscall): a raw read of a pipe
// nobody writes to, outside the runtime's poller.
func readForever(fd int) {
	buf := make([]byte, 1)
	syscall.Read(fd, buf)
}

//go:noinline
func startReaders(n int) {
	for i := 0; i < n; i++ {
		var p [2]int
		if err := syscall.Pipe(p[:]); err != nil {
			panic(err)
		}
		go readForever(p[0])
	}
}

// A goroutine that never blocks: running or runnable whenever it is seen.
func spinForever() {
	for {
		spin++
		if spin%1000000 == 0 {
			runtime.Gosched()
		}
	}
}

func main() {
	n := flag.Int("n", 10000, "goroutines to start in all (at least 100)")
	profile := flag.String("profile", "", "write the goroutine profile (debug=2) here")
	spinning := flag.Bool("spin", false, "also start one goroutine that never blocks (uses a core)")
	flag.Parse()
	mu.Lock() // the lockers wait forever
	recv := *n * 6 / 10
	sel := *n * 2 / 10
	lock := *n / 10
	sleep := *n / 20
	startReceivers(recv)
	startSelects(sel)
	startLockers(lock)
	startSleepers(sleep)
	startReaders(2)
	others := 2
	if *spinning {
		go spinForever()
		others++
	}
	startWaiters(*n - recv - sel - lock - sleep - others - 1)
	// Settle: every goroutine has run up to where it blocks.
	for i := 0; i < 100; i++ {
		time.Sleep(20 * time.Millisecond)
		runtime.GC() // also sets waitsince of the waiting ones
	}
	if *profile != "" {
		f, err := os.Create(*profile + ".tmp")
		if err != nil {
			panic(err)
		}
		pprof.Lookup("goroutine").WriteTo(f, 2)
		f.Close()
		os.Rename(*profile+".tmp", *profile)
	}
	fmt.Printf("ready %d %d\n", os.Getpid(), runtime.NumGoroutine())
	select {}
}
