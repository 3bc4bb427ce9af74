// Kafka's Java client for Spate's security tests, compiled by the tests with javac.
// Usage:
//   SecurityClient produce <seconds> <topic> <client.properties>...
//     one producer per properties file, each in its own thread, sending a record every
//     50 ms for <seconds> seconds; prints one JSON line per producer with the records
//     acknowledged, the errors, and the client's own connection and KIP-368 metrics.
//   SecurityClient create-topics <client.properties> <name:partitions>...
//     Admin.createTopics with retryOnQuotaViolation(false), one topic at a time; prints one
//     JSON line per topic: "ok" or the exception's class and message.

import java.io.FileInputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.CreateTopicsOptions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.Metric;
import org.apache.kafka.common.MetricName;

public class SecurityClient {
  static Properties load(String path) throws Exception {
    Properties props = new Properties();
    try (FileInputStream in = new FileInputStream(path)) {
      props.load(in);
    }
    return props;
  }

  static double metric(Map<MetricName, ? extends Metric> metrics, String name) {
    double total = 0;
    for (Map.Entry<MetricName, ? extends Metric> entry : metrics.entrySet()) {
      MetricName key = entry.getKey();
      // The client-wide selector metrics (not the per-node copies).
      if (key.name().equals(name) && !key.tags().containsKey("node-id")) {
        Object value = entry.getValue().metricValue();
        if (value instanceof Number) total += ((Number) value).doubleValue();
      }
    }
    return total;
  }

  static String quote(String text) {
    return "\"" + String.valueOf(text).replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", " ") + "\"";
  }

  static String produce(String path, String topic, long seconds) throws Exception {
    Properties props = load(path);
    props.put("key.serializer", "org.apache.kafka.common.serialization.StringSerializer");
    props.put("value.serializer", "org.apache.kafka.common.serialization.StringSerializer");
    props.put("linger.ms", "0");
    AtomicLong acked = new AtomicLong();
    AtomicLong failed = new AtomicLong();
    StringBuilder firstError = new StringBuilder();
    long sent = 0;
    try (KafkaProducer<String, String> producer = new KafkaProducer<>(props)) {
      long end = System.currentTimeMillis() + seconds * 1000;
      while (System.currentTimeMillis() < end) {
        producer.send(new ProducerRecord<>(topic, "record-" + sent), (metadata, error) -> {
          if (error == null) acked.incrementAndGet();
          else {
            failed.incrementAndGet();
            synchronized (firstError) {
              if (firstError.length() == 0) firstError.append(error.toString());
            }
          }
        });
        sent++;
        Thread.sleep(50);
      }
      producer.flush();
      Map<MetricName, ? extends Metric> metrics = producer.metrics();
      return "{\"config\":" + quote(path) + ",\"sent\":" + sent + ",\"acked\":" + acked.get() + ",\"failed\":" + failed.get()
          + ",\"firstError\":" + quote(firstError.toString())
          + ",\"connections\":" + (long) metric(metrics, "connection-creation-total")
          + ",\"closed\":" + (long) metric(metrics, "connection-close-total")
          + ",\"authentications\":" + (long) metric(metrics, "successful-authentication-total")
          + ",\"reauthentications\":" + (long) metric(metrics, "successful-reauthentication-total")
          + ",\"failedReauthentications\":" + (long) metric(metrics, "failed-reauthentication-total") + "}";
    }
  }

  public static void main(String[] args) throws Exception {
    if (args[0].equals("produce")) {
      long seconds = Long.parseLong(args[1]);
      String topic = args[2];
      List<Thread> threads = new ArrayList<>();
      for (int i = 3; i < args.length; i++) {
        String path = args[i];
        Thread thread = new Thread(() -> {
          String line;
          try {
            line = produce(path, topic, seconds);
          } catch (Exception e) {
            line = "{\"config\":" + quote(path) + ",\"exception\":" + quote(e.toString()) + "}";
          }
          synchronized (System.out) {
            System.out.println(line);
            System.out.flush();
          }
        });
        thread.start();
        threads.add(thread);
      }
      for (Thread thread : threads) thread.join();
    } else if (args[0].equals("create-topics")) {
      Properties props = load(args[1]);
      try (Admin admin = Admin.create(props)) {
        for (int i = 2; i < args.length; i++) {
          String[] spec = args[i].split(":");
          NewTopic topic = new NewTopic(spec[0], Integer.parseInt(spec[1]), (short) 1);
          String outcome;
          try {
            admin.createTopics(List.of(topic), new CreateTopicsOptions().retryOnQuotaViolation(false)).all().get();
            outcome = "\"ok\"";
          } catch (ExecutionException e) {
            outcome = quote(e.getCause().getClass().getSimpleName() + ": " + e.getCause().getMessage());
          }
          System.out.println("{\"topic\":" + quote(spec[0]) + ",\"outcome\":" + outcome + "}");
          System.out.flush();
        }
      }
    } else {
      throw new IllegalArgumentException("unknown mode " + args[0]);
    }
  }
}
