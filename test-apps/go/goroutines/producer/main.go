// A confluent-kafka-go producer (cgo, the system's librdkafka) that produces
// until it is killed, for `ringfence goroutines` and `ringfence check` under
// the shim: every round one message through Produce(), whose delivery
// reports a goroutine of the program reads from Events(), and one through
// ProduceChannel(), served by the library's own goroutine, so that the
// library's goroutines (poller, channelProducer) and librdkafka's threads
// run beside the program's. With -leak every round also starts a goroutine
// that waits for a reply nobody sends: the leak.
//
// Built in GOPATH mode against Debian's golang-github-confluentinc-confluent-kafka-go-dev:
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go build -o producer main.go
package main

import (
	"flag"
	"fmt"
	"os"
	"sync/atomic"
	"time"

	"github.com/confluentinc/confluent-kafka-go/kafka"
)

var delivered int64

// readEvents counts the delivery reports of Produce() for as long as the producer lives.
func readEvents(p *kafka.Producer) {
	for ev := range p.Events() {
		if m, ok := ev.(*kafka.Message); ok && m.TopicPartition.Error == nil {
			atomic.AddInt64(&delivered, 1)
		}
	}
}

// awaitReply waits for an answer that never comes: nobody else holds the channel.
func awaitReply(reply chan int) {
	<-reply
}

func produceRound(p *kafka.Producer, topic *string, round int, leak bool) {
	value := []byte(fmt.Sprintf("round %d", round))
	tp := kafka.TopicPartition{Topic: topic, Partition: kafka.PartitionAny}
	if err := p.Produce(&kafka.Message{TopicPartition: tp, Value: value}, nil); err != nil {
		fmt.Fprintf(os.Stderr, "produce: %v\n", err)
	}
	p.ProduceChannel() <- &kafka.Message{TopicPartition: tp, Value: value}
	if leak {
		go awaitReply(make(chan int))
	}
}

func main() {
	bootstrap := flag.String("bootstrap", "", "bootstrap servers")
	topic := flag.String("topic", "goroutines", "topic")
	every := flag.Duration("every", 100*time.Millisecond, "time between rounds")
	leak := flag.Bool("leak", false, "leak a goroutine every round")
	flag.Parse()
	if *bootstrap == "" {
		fmt.Fprintln(os.Stderr, "usage: producer -bootstrap HOST:PORT [-topic T] [-every D] [-leak]")
		os.Exit(2)
	}
	p, err := kafka.NewProducer(&kafka.ConfigMap{"bootstrap.servers": *bootstrap, "linger.ms": 5})
	if err != nil {
		fmt.Fprintf(os.Stderr, "NewProducer: %v\n", err)
		os.Exit(1)
	}
	go readEvents(p)
	for round := 0; ; round++ {
		produceRound(p, topic, round, *leak)
		if round == 10 {
			fmt.Printf("ready %d\n", os.Getpid())
		}
		time.Sleep(*every)
	}
}
