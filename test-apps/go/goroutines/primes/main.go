// Seed 002's prime workers: every batch starts a pool of 8 workers and one
// collector from one function (runBatch). The workers range over a channel
// that is never closed: once the candidates are used up they wait forever
// (the leak, 8 more a batch). The collector reads the batch's results and
// ends, so it is not a leak.
package main

import (
	"flag"
	"fmt"
	"os"
	"sync"
	"time"
)

func isPrime(n int) bool {
	if n < 2 {
		return false
	}
	for d := 2; d*d <= n; d++ {
		if n%d == 0 {
			return false
		}
	}
	return true
}

func worker(ch <-chan int, results chan<- int, wg *sync.WaitGroup) {
	for num := range ch { // the channel is never closed: the worker never ends
		if isPrime(num) {
			results <- num
		}
		wg.Done()
	}
}

func collector(results <-chan int, done <-chan struct{}, found *int) {
	for {
		select {
		case <-results:
			*found++
		case <-done:
			return
		}
	}
}

func runBatch(from, to int) int {
	ch := make(chan int)
	results := make(chan int, 64)
	done := make(chan struct{})
	var wg sync.WaitGroup
	found := 0
	for i := 0; i < 8; i++ {
		go worker(ch, results, &wg)
	}
	go collector(results, done, &found)
	for n := from; n < to; n++ {
		wg.Add(1)
		ch <- n
	}
	wg.Wait()
	close(done) // ends the collector; ch stays open (the bug)
	return found
}

func main() {
	every := flag.Duration("every", 300*time.Millisecond, "time between batches")
	batches := flag.Int("batches", 0, "stop after this many batches (0: never)")
	flag.Parse()
	fmt.Fprintf(os.Stdout, "ready %d\n", os.Getpid())
	for b := 0; *batches == 0 || b < *batches; b++ {
		runBatch(b*1000, (b+1)*1000)
		time.Sleep(*every)
	}
	// Idle, not select{}: with every goroutine blocked and no timer pending, the
	// runtime would abort the program as deadlocked.
	for {
		time.Sleep(time.Hour)
	}
}
