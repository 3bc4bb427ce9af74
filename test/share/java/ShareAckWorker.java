// A KafkaShareConsumer that reports which acknowledgements the broker confirmed, for the
// share-group failover tests (compiled by the test with javac).
// Usage: ShareAckWorker <bootstrap> <group> <topic> <idleExitMs> <perRecordSleepMs>
// Acknowledges every record explicitly, ACCEPT, except values starting with "poison", which
// it RELEASEs after a second (so they come back until group.share.delivery.count.limit
// archives them), and commits after each poll with commitSync. Prints, one line each:
//   "GOT <value> <deliveryCount>"  when a record arrives,
//   "ACKED <value> <ACCEPT|RELEASE>" once commitSync says its partition's acknowledgement succeeded,
//   "FAILED <value> <error>"       when it did not (the record may come again),
// and "DONE" at the end (after idleExitMs without records once it has seen one).

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import org.apache.kafka.clients.consumer.AcknowledgeType;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaShareConsumer;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicIdPartition;

public class ShareAckWorker {
  public static void main(String[] args) throws Exception {
    String bootstrap = args[0], group = args[1], topic = args[2];
    long idleExitMs = Long.parseLong(args[3]);
    long sleepMs = Long.parseLong(args[4]);
    Properties props = new Properties();
    props.put("bootstrap.servers", bootstrap);
    props.put("group.id", group);
    props.put("client.id", "acker-" + ProcessHandle.current().pid());
    props.put("key.deserializer", "org.apache.kafka.common.serialization.StringDeserializer");
    props.put("value.deserializer", "org.apache.kafka.common.serialization.StringDeserializer");
    props.put("share.acknowledgement.mode", "explicit");
    props.put("max.poll.records", "10");
    try (KafkaShareConsumer<String, String> consumer = new KafkaShareConsumer<>(props)) {
      consumer.subscribe(List.of(topic));
      long lastRecord = System.currentTimeMillis();
      boolean seen = false;
      long deadline = System.currentTimeMillis() + 240_000;
      while (System.currentTimeMillis() < deadline) {
        ConsumerRecords<String, String> records = consumer.poll(Duration.ofMillis(200));
        List<ConsumerRecord<String, String>> polled = new ArrayList<>();
        for (ConsumerRecord<String, String> record : records) {
          System.out.println("GOT " + record.value() + " " + record.deliveryCount().orElse((short) -1));
          boolean poison = record.value().startsWith("poison");
          // A poison record fails slowly, so that its deliveries span a broker stop.
          Thread.sleep(poison ? 1000 : sleepMs);
          consumer.acknowledge(record, poison ? AcknowledgeType.RELEASE : AcknowledgeType.ACCEPT);
          polled.add(record);
        }
        if (!polled.isEmpty()) {
          seen = true;
          lastRecord = System.currentTimeMillis();
          Map<TopicIdPartition, Optional<KafkaException>> results;
          try {
            results = consumer.commitSync(Duration.ofSeconds(30));
          } catch (Exception e) {
            for (ConsumerRecord<String, String> record : polled) System.out.println("FAILED " + record.value() + " " + e.getClass().getSimpleName());
            System.out.flush();
            continue;
          }
          for (ConsumerRecord<String, String> record : polled) {
            Optional<KafkaException> outcome = null;
            for (Map.Entry<TopicIdPartition, Optional<KafkaException>> entry : results.entrySet()) {
              if (entry.getKey().topic().equals(record.topic()) && entry.getKey().partition() == record.partition()) outcome = entry.getValue();
            }
            String type = record.value().startsWith("poison") ? "RELEASE" : "ACCEPT";
            if (outcome == null) System.out.println("FAILED " + record.value() + " NoResult");
            else if (outcome.isPresent()) System.out.println("FAILED " + record.value() + " " + outcome.get().getClass().getSimpleName());
            else System.out.println("ACKED " + record.value() + " " + type);
          }
        } else if (seen && System.currentTimeMillis() - lastRecord > idleExitMs) {
          break;
        }
        System.out.flush();
      }
    }
    System.out.println("DONE");
    System.out.flush();
  }
}
