// The bench's own Java load generators, for the two workloads Kafka's tools cannot run the
// way the bench needs them:
//
//   consume  an assign-mode consumer (no group.id: every partition assigned, read from the
//            beginning) with ConsumerPerformance's settings, since ConsumerPerformance always
//            joins a consumer group and a broker without a group coordinator cannot serve it;
//   e2e      end-to-end latency at a fixed rate, as the OpenMessaging Benchmark measures it:
//            a producer sends at R records/s, an assign-mode consumer in the same JVM reads
//            them, and the latency is consumer receipt minus the record's scheduled send time
//            (System.nanoTime, the same clock), so a producer that falls behind is counted,
//            not hidden (no coordinated omission). EndToEndLatency, Kafka's own tool, sends
//            one record at a time and waits for it, so it cannot hold a rate.
//
// Output: lines "interval <elapsedMs> <records> <bytes>" once a second, then one line
// "result {json}". Built by the bench with javac against the kafka-clients jar.

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import org.HdrHistogram.Histogram;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

public final class SpateBench {
  private SpateBench() {}

  public static void main(String[] args) throws Exception {
    Map<String, String> options = new HashMap<>();
    for (int i = 1; i + 1 < args.length; i += 2) options.put(args[i].replaceFirst("^--", ""), args[i + 1]);
    switch (args.length > 0 ? args[0] : "") {
      case "consume" -> consume(options);
      case "e2e" -> endToEnd(options);
      default -> {
        System.err.println("usage: SpateBench consume|e2e --bootstrap HOST:PORT --topic T ...");
        System.exit(2);
      }
    }
  }

  private static KafkaConsumer<byte[], byte[]> assignedConsumer(String bootstrap, String topic, boolean fromBeginning) {
    Properties props = new Properties();
    props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    // ConsumerPerformance's defaults: --fetch-size 1 MiB per partition, 2 MiB socket buffer.
    props.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, "1048576");
    props.put(ConsumerConfig.RECEIVE_BUFFER_CONFIG, "2097152");
    props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, fromBeginning ? "earliest" : "latest");
    props.put(ConsumerConfig.CLIENT_ID_CONFIG, "spate-bench-consumer");
    KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(props);
    List<TopicPartition> partitions = new ArrayList<>();
    for (PartitionInfo info : consumer.partitionsFor(topic, Duration.ofSeconds(30))) {
      partitions.add(new TopicPartition(topic, info.partition()));
    }
    consumer.assign(partitions);
    if (fromBeginning) consumer.seekToBeginning(partitions);
    else consumer.seekToEnd(partitions);
    for (TopicPartition partition : partitions) consumer.position(partition, Duration.ofSeconds(30));
    return consumer;
  }

  private static void consume(Map<String, String> options) {
    String bootstrap = options.get("bootstrap");
    String topic = options.get("topic");
    long wanted = Long.parseLong(options.get("records"));
    long maxMillis = Long.parseLong(options.getOrDefault("max-seconds", "120")) * 1000;
    long idleMillis = Long.parseLong(options.getOrDefault("idle-ms", "10000"));
    try (KafkaConsumer<byte[], byte[]> consumer = assignedConsumer(bootstrap, topic, true)) {
      long start = System.nanoTime();
      long lastData = System.currentTimeMillis();
      long records = 0;
      long bytes = 0;
      long nextReport = 1000;
      long intervalRecords = 0;
      long intervalBytes = 0;
      String stopped = "count";
      while (records < wanted) {
        ConsumerRecords<byte[], byte[]> batch = consumer.poll(Duration.ofMillis(100));
        for (ConsumerRecord<byte[], byte[]> record : batch) {
          long size = (record.key() == null ? 0 : record.key().length) + (record.value() == null ? 0 : record.value().length);
          records++;
          bytes += size;
          intervalRecords++;
          intervalBytes += size;
        }
        long now = System.currentTimeMillis();
        if (!batch.isEmpty()) lastData = now;
        long elapsed = (System.nanoTime() - start) / 1_000_000;
        if (elapsed >= nextReport) {
          System.out.println("interval " + elapsed + " " + intervalRecords + " " + intervalBytes);
          intervalRecords = 0;
          intervalBytes = 0;
          nextReport += 1000;
        }
        if (elapsed > maxMillis) {
          stopped = "time";
          break;
        }
        if (now - lastData > idleMillis) {
          stopped = "idle";
          break;
        }
      }
      double seconds = (System.nanoTime() - start) / 1e9;
      System.out.println("interval " + Math.round(seconds * 1000) + " " + intervalRecords + " " + intervalBytes);
      System.out.printf(
          "result {\"records\":%d,\"bytes\":%d,\"seconds\":%.3f,\"recordsPerSec\":%.1f,\"mbPerSec\":%.3f,\"stopped\":\"%s\"}%n",
          records, bytes, seconds, records / seconds, bytes / seconds / (1024 * 1024), stopped);
    }
  }

  private static void endToEnd(Map<String, String> options) throws Exception {
    String bootstrap = options.get("bootstrap");
    String topic = options.get("topic");
    int rate = Integer.parseInt(options.get("rate"));
    int seconds = Integer.parseInt(options.get("seconds"));
    int recordSize = Integer.parseInt(options.getOrDefault("record-size", "1024"));
    String acks = options.getOrDefault("acks", "all");
    double warmupSeconds = Double.parseDouble(options.getOrDefault("warmup-seconds", "2"));
    long total = (long) rate * seconds;

    Properties props = new Properties();
    props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
    props.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
    props.put(ProducerConfig.ACKS_CONFIG, acks);
    // The OpenMessaging Benchmark's Kafka driver settings for latency runs.
    props.put(ProducerConfig.LINGER_MS_CONFIG, "1");
    props.put(ProducerConfig.BATCH_SIZE_CONFIG, "1048576");
    props.put(ProducerConfig.CLIENT_ID_CONFIG, "spate-bench-e2e-producer");

    try (KafkaConsumer<byte[], byte[]> consumer = assignedConsumer(bootstrap, topic, false);
         KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(props)) {
      Histogram histogram = new Histogram(3_600_000_000L, 3); // microseconds, up to an hour
      AtomicLong sendErrors = new AtomicLong();
      long start = System.nanoTime();
      long warmupEnd = start + (long) (warmupSeconds * 1e9);
      long intervalNanos = 1_000_000_000L / rate;
      byte[] filler = new byte[recordSize];
      ThreadLocalRandom.current().nextBytes(filler);

      Thread sender = new Thread(() -> {
        for (long i = 0; i < total; i++) {
          long scheduled = start + i * intervalNanos;
          long wait;
          while ((wait = scheduled - System.nanoTime()) > 0) {
            if (wait > 200_000) {
              try {
                Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
              } catch (InterruptedException e) {
                return;
              }
            } else {
              Thread.onSpinWait();
            }
          }
          byte[] value = filler.clone();
          ByteBuffer.wrap(value).putLong(0, scheduled);
          producer.send(new ProducerRecord<>(topic, value), (metadata, error) -> {
            if (error != null) sendErrors.incrementAndGet();
          });
        }
        producer.flush();
      }, "fixed-rate-sender");
      sender.start();

      long received = 0;
      long measured = 0;
      long lastProgress = System.currentTimeMillis();
      long nextReport = 1000;
      long intervalRecords = 0;
      long intervalBytes = 0;
      long deadline = start + (seconds + 30L) * 1_000_000_000L;
      while (received < total && System.nanoTime() < deadline) {
        ConsumerRecords<byte[], byte[]> batch = consumer.poll(Duration.ofMillis(50));
        long now = System.nanoTime();
        for (ConsumerRecord<byte[], byte[]> record : batch) {
          long scheduled = ByteBuffer.wrap(record.value()).getLong(0);
          received++;
          intervalRecords++;
          intervalBytes += record.value().length;
          if (scheduled >= warmupEnd) {
            histogram.recordValue(Math.max(0, (now - scheduled) / 1000));
            measured++;
          }
        }
        if (!batch.isEmpty()) lastProgress = System.currentTimeMillis();
        else if (System.currentTimeMillis() - lastProgress > 15_000 && !sender.isAlive()) break;
        long elapsed = (now - start) / 1_000_000;
        if (elapsed >= nextReport) {
          System.out.println("interval " + elapsed + " " + intervalRecords + " " + intervalBytes);
          intervalRecords = 0;
          intervalBytes = 0;
          nextReport += 1000;
        }
      }
      sender.join(10_000);
      double elapsedSeconds = (System.nanoTime() - start) / 1e9;
      System.out.printf(
          "result {\"rate\":%d,\"sent\":%d,\"received\":%d,\"measured\":%d,\"sendErrors\":%d,\"seconds\":%.3f,"
              + "\"p50\":%.3f,\"p90\":%.3f,\"p99\":%.3f,\"p999\":%.3f,\"max\":%.3f,\"mean\":%.3f}%n",
          rate, total, received, measured, sendErrors.get(), elapsedSeconds,
          histogram.getValueAtPercentile(50) / 1000.0, histogram.getValueAtPercentile(90) / 1000.0,
          histogram.getValueAtPercentile(99) / 1000.0, histogram.getValueAtPercentile(99.9) / 1000.0,
          histogram.getMaxValue() / 1000.0, histogram.getMean() / 1000.0);
    }
  }
}
