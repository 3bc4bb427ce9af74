// A KafkaShareConsumer for Spate's share-group tests, compiled by the test with javac.
// Usage: ShareWorker <bootstrap> <group> <topic> <mode> <idleExitMs>
//   mode "work": acknowledges every record explicitly, ACCEPT, except values starting with
//                "poison", which it RELEASEs (so they come back until the delivery limit);
//                exits after idleExitMs without records once it has seen one.
//   mode "hold": takes one poll's records, acknowledges nothing and stops polling (its
//                heartbeats go on), so the records stay locked until the lock runs out or
//                the JVM is killed.
// Prints one line per record: "<mode> <value> <deliveryCount>", then "DONE".

import java.time.Duration;
import java.util.List;
import java.util.Properties;
import org.apache.kafka.clients.consumer.AcknowledgeType;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaShareConsumer;

public class ShareWorker {
  public static void main(String[] args) throws Exception {
    String bootstrap = args[0], group = args[1], topic = args[2], mode = args[3];
    long idleExitMs = Long.parseLong(args[4]);
    Properties props = new Properties();
    props.put("bootstrap.servers", bootstrap);
    props.put("group.id", group);
    props.put("client.id", mode + "-" + ProcessHandle.current().pid());
    props.put("key.deserializer", "org.apache.kafka.common.serialization.StringDeserializer");
    props.put("value.deserializer", "org.apache.kafka.common.serialization.StringDeserializer");
    props.put("share.acknowledgement.mode", "explicit");
    props.put("max.poll.records", "10");
    try (KafkaShareConsumer<String, String> consumer = new KafkaShareConsumer<>(props)) {
      consumer.subscribe(List.of(topic));
      long lastRecord = System.currentTimeMillis();
      boolean seen = false;
      long deadline = System.currentTimeMillis() + 180_000;
      while (System.currentTimeMillis() < deadline) {
        ConsumerRecords<String, String> records = consumer.poll(Duration.ofMillis(200));
        for (ConsumerRecord<String, String> record : records) {
          System.out.println(mode + " " + record.value() + " " + record.deliveryCount().orElse((short) -1));
          if (mode.equals("work")) {
            consumer.acknowledge(record, record.value().startsWith("poison") ? AcknowledgeType.RELEASE : AcknowledgeType.ACCEPT);
            Thread.sleep(5);
          }
        }
        System.out.flush();
        if (!records.isEmpty()) {
          seen = true;
          lastRecord = System.currentTimeMillis();
          if (mode.equals("hold")) {
            System.out.println("HOLDING");
            System.out.flush();
            Thread.sleep(deadline - System.currentTimeMillis());
          }
          consumer.commitSync();
        } else if (seen && System.currentTimeMillis() - lastRecord > idleExitMs) {
          break;
        }
      }
    }
    System.out.println("DONE");
  }
}
