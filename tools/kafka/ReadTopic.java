// Reads a topic from its beginning with Kafka's own Java client (kafka-clients, on the broker's
// classpath: no extra download) and prints each record's value as one line on stdout. Tests use it
// as a consumer independent of kafkajs and of FlowGate's codecs (Java's lz4-java and zstd-jni
// decompress). Java 11+ source-file mode:
//
//   java -cp '.kafka/lib-4.3.1/*' tools/kafka/ReadTopic.java 127.0.0.1:9092 TOPIC COUNT [TIMEOUT_MS]
//
// Exits 0 after COUNT records, 1 when fewer arrived within TIMEOUT_MS (default 30000).
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;

public class ReadTopic {
  public static void main(String[] args) throws Exception {
    String bootstrap = args[0];
    String topic = args[1];
    int count = Integer.parseInt(args[2]);
    long timeoutMs = args.length > 3 ? Long.parseLong(args[3]) : 30000;
    Properties props = new Properties();
    props.put("bootstrap.servers", bootstrap);
    props.put("enable.auto.commit", "false");
    props.put("key.deserializer", ByteArrayDeserializer.class.getName());
    props.put("value.deserializer", StringDeserializer.class.getName());
    int read = 0;
    try (KafkaConsumer<byte[], String> consumer = new KafkaConsumer<>(props)) {
      List<TopicPartition> partitions = new ArrayList<>();
      for (PartitionInfo p : consumer.partitionsFor(topic, Duration.ofMillis(timeoutMs))) partitions.add(new TopicPartition(topic, p.partition()));
      consumer.assign(partitions);
      consumer.seekToBeginning(partitions);
      long deadline = System.currentTimeMillis() + timeoutMs;
      StringBuilder out = new StringBuilder();
      while (read < count && System.currentTimeMillis() < deadline) {
        for (ConsumerRecord<byte[], String> r : consumer.poll(Duration.ofMillis(200))) {
          out.append(r.value()).append('\n');
          read++;
        }
      }
      System.out.print(out);
    }
    if (read < count) {
      System.err.println("read " + read + " of " + count + " records from " + topic);
      System.exit(1);
    }
  }
}
