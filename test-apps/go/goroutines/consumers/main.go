// Seed 001's consumers: every call of bug() fills a buffered channel with 100
// tasks and starts 100 consumers ranging over it, and never closes the
// channel, so all 100 stay blocked in "chan receive" forever (the leak).
// With -fixed the channel is closed once the consumers are started (the
// fix): the same goroutines are created and all of them end.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"time"
)

var out io.Writer = io.Discard

// tasks gives a channel holding 100 tasks.
func tasks() chan int {
	taskChan := make(chan int, 100)
	for i := 0; i < 100; i++ {
		taskChan <- i
	}
	return taskChan
}

// consume handles tasks until their channel is closed.
func consume(taskChan chan int) {
	for task := range taskChan {
		fmt.Fprintln(out, task)
	}
}

func bug() {
	taskChan := tasks()
	for i := 0; i < 100; i++ {
		go func() { consume(taskChan) }()
	}
}

func bugfix() {
	taskChan := tasks()
	for i := 0; i < 100; i++ {
		go func() { consume(taskChan) }()
	}
	close(taskChan) // bugfix
}

func main() {
	fixed := flag.Bool("fixed", false, "close the channel (the fixed version)")
	every := flag.Duration("every", 300*time.Millisecond, "time between calls")
	calls := flag.Int("calls", 0, "stop calling after this many calls (0: never)")
	exitAfter := flag.Duration("exit-after", 0, "exit after this long (0: never)")
	flag.Parse()
	if *exitAfter > 0 {
		time.AfterFunc(*exitAfter, func() { os.Exit(0) })
	}
	fmt.Fprintf(os.Stdout, "ready %d\n", os.Getpid())
	for n := 0; *calls == 0 || n < *calls; n++ {
		if *fixed {
			bugfix()
		} else {
			bug()
		}
		time.Sleep(*every)
	}
	// Idle, not select{}: with every goroutine blocked and no timer pending, the
	// runtime would abort the program as deadlocked.
	for {
		time.Sleep(time.Hour)
	}
}
