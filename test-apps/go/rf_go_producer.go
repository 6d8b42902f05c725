// rf_go_producer: an asynchronous confluent-kafka-go producer for the client
// tests (e2e/client_go.sh), built against the system librdkafka.so.1 (cgo,
// dynamically linked: Debian's confluent-kafka-go links with pkg-config
// rdkafka). Messages are produced with Produce() (delivery reports on the
// Events channel, a full queue retried after 1 ms) or with ProduceChannel()
// (confluent-kafka-go produces them with RD_KAFKA_MSG_F_BLOCK; a refused one
// comes back on the Events channel as the message itself, its offset
// untouched). At the end: Flush, Close, one JSON line on standard output.
//
// Payload i starts with "<tag>:<i>:" so that a reader can count distinct
// messages on the broker; the rest is filler up to -size bytes.
//
// Build (GOPATH mode against Debian's sources, offline):
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go build -o rf-go-producer rf_go_producer.go
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/confluentinc/confluent-kafka-go/kafka"
)

// A refused message keeps the offset it was given; a delivery report
// carries the broker's offset (or a logical one on failure).
const refusedMark = kafka.Offset(-424242)

type confList []string

func (c *confList) String() string     { return strings.Join(*c, ",") }
func (c *confList) Set(s string) error { *c = append(*c, s); return nil }

// errKey names an error as "<code> <description>", e.g. "-184 Local: Queue full".
func errKey(err error) string {
	if ke, ok := err.(kafka.Error); ok {
		return fmt.Sprintf("%d %s", int(ke.Code()), ke.Code().String())
	}
	return err.Error()
}

// vmHWMkB is the process's peak resident set (kB), from /proc/self/status.
func vmHWMkB() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return -1
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fs := strings.Fields(sc.Text()); len(fs) >= 2 && fs[0] == "VmHWM:" {
			v, _ := strconv.ParseInt(fs[1], 10, 64)
			return v
		}
	}
	return -1
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

func main() {
	bootstrap := flag.String("bootstrap", "", "bootstrap servers")
	topic := flag.String("topic", "go", "topic")
	count := flag.Int("count", 20000, "messages")
	size := flag.Int("size", 512, "payload bytes")
	mode := flag.String("mode", "produce", "produce (Produce()) or channel (ProduceChannel())")
	tag := flag.String("tag", "g", "payload prefix")
	flushS := flag.Int("flush-timeout", 60, "seconds Flush may take")
	var confs confList
	flag.Var(&confs, "X", "librdkafka property key=value (repeatable)")
	flag.Parse()
	if *bootstrap == "" || (*mode != "produce" && *mode != "channel") {
		fmt.Fprintln(os.Stderr, "usage: rf-go-producer -bootstrap B [-topic T] [-count N] [-size N] [-mode produce|channel] [-X k=v]...")
		os.Exit(2)
	}

	cm := kafka.ConfigMap{"bootstrap.servers": *bootstrap}
	for _, kv := range confs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			fmt.Fprintf(os.Stderr, "-X %s: not key=value\n", kv)
			os.Exit(2)
		}
		cm[k] = v
	}
	p, err := kafka.NewProducer(&cm)
	if err != nil {
		fmt.Fprintf(os.Stderr, "NewProducer: %v\n", err)
		os.Exit(1)
	}

	var mu sync.Mutex
	delivered, reports := 0, 0
	drFailed, refused := map[string]int{}, map[string]int{}
	done := make(chan struct{})
	go func() {
		for ev := range p.Events() {
			switch e := ev.(type) {
			case *kafka.Message:
				mu.Lock()
				switch {
				case e.TopicPartition.Offset == refusedMark:
					refused[errKey(e.TopicPartition.Error)]++
				case e.TopicPartition.Error != nil:
					reports++
					drFailed[errKey(e.TopicPartition.Error)]++
				default:
					reports++
					delivered++
				}
				mu.Unlock()
			case kafka.Error:
				fmt.Fprintf(os.Stderr, "error event: %v\n", e)
			}
		}
		close(done)
	}()

	filler := make([]byte, *size)
	for i := range filler {
		filler[i] = byte('a' + i%26)
	}
	t0 := time.Now()
	retries, produceFailed := 0, map[string]int{}
	for i := 0; i < *count; i++ {
		v := make([]byte, *size)
		copy(v[copy(v, fmt.Sprintf("%s:%d:", *tag, i)):], filler)
		m := &kafka.Message{TopicPartition: kafka.TopicPartition{Topic: topic, Partition: kafka.PartitionAny}, Value: v}
		if *mode == "channel" {
			m.TopicPartition.Offset = refusedMark
			p.ProduceChannel() <- m
			continue
		}
		for {
			err := p.Produce(m, nil)
			if err == nil {
				break
			}
			if ke, ok := err.(kafka.Error); ok && ke.Code() == kafka.ErrQueueFull {
				retries++
				time.Sleep(time.Millisecond)
				continue
			}
			produceFailed[errKey(err)]++
			break
		}
	}
	unflushed := p.Flush(*flushS * 1000)
	// The Events channel may still hold the last reports: every message gets
	// exactly one report or one refusal.
	want := *count - sum(produceFailed)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		mu.Lock()
		got := reports + sum(refused)
		mu.Unlock()
		if got >= want {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	p.Close()
	<-done
	out, _ := json.Marshal(map[string]interface{}{
		"client":         "rf-go-producer",
		"pid":            os.Getpid(),
		"mode":           *mode,
		"count":          *count,
		"size":           *size,
		"produced":       *count - sum(refused) - sum(produceFailed),
		"refused":        refused,
		"produce_failed": produceFailed,
		"retries":        retries,
		"delivered":      delivered,
		"dr_failed":      drFailed,
		"unflushed":      unflushed,
		"elapsed_s":      time.Since(t0).Seconds(),
		"vmhwm_kb":       vmHWMkB(),
	})
	fmt.Println(string(out))
}
