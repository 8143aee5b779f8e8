// End-to-end smoke test of the local broker with Kafka's own Java client (kafka-clients is already on the
// broker classpath, so this needs no npm package and no extra download). Java 11+ source-file mode:
//
//   node scripts/kafka.js smoke [topic]
//   # or by hand:
//   java -cp '.kafka/lib-4.3.1/*' tools/kafka/KafkaSmoke.java 127.0.0.1:9092 [topic]
//
// Creates a 3-partition topic with the Admin API, lists and describes it, produces 5 records, consumes them
// with a consumer group, and exits 1 if anything is missing.
import java.time.Duration;
import java.util.List;
import java.util.Properties;
import java.util.TreeSet;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

public class KafkaSmoke {
  public static void main(String[] args) throws Exception {
    String bootstrap = args.length > 0 ? args[0] : "127.0.0.1:9092";
    String topic = args.length > 1 ? args[1] : "flowgate-smoke-" + System.currentTimeMillis();
    int records = 5;
    long t0 = System.currentTimeMillis();
    Properties base = new Properties();
    base.put("bootstrap.servers", bootstrap);
    base.put("default.api.timeout.ms", "20000");
    base.put("request.timeout.ms", "10000");

    try (Admin admin = Admin.create(base)) {
      admin.createTopics(List.of(new NewTopic(topic, 3, (short) 1))).all().get();
      TreeSet<String> names = new TreeSet<>(admin.listTopics().names().get());
      int partitions = admin.describeTopics(List.of(topic)).allTopicNames().get().get(topic).partitions().size();
      System.out.println("created topic " + topic + " (" + partitions + " partitions); topics: " + names);
      if (!names.contains(topic) || partitions != 3) fail("topic not listed/described correctly");
    }

    Properties pp = new Properties();
    pp.putAll(base);
    pp.put("max.block.ms", "20000");
    pp.put("key.serializer", StringSerializer.class.getName());
    pp.put("value.serializer", StringSerializer.class.getName());
    try (KafkaProducer<String, String> producer = new KafkaProducer<>(pp)) {
      for (int i = 0; i < records; i++) producer.send(new ProducerRecord<>(topic, "k" + i, "v" + i)).get();
    }
    System.out.println("produced " + records + " records");

    Properties cp = new Properties();
    cp.putAll(base);
    cp.put("group.id", "smoke-" + topic);
    cp.put("auto.offset.reset", "earliest");
    cp.put("key.deserializer", StringDeserializer.class.getName());
    cp.put("value.deserializer", StringDeserializer.class.getName());
    int got = 0;
    long c0 = System.currentTimeMillis();
    try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(cp)) {
      consumer.subscribe(List.of(topic));
      while (got < records && System.currentTimeMillis() - c0 < 30_000) {
        ConsumerRecords<String, String> batch = consumer.poll(Duration.ofMillis(500));
        got += batch.count();
      }
      consumer.commitSync();
    }
    System.out.println("consumed " + got + " records in " + (System.currentTimeMillis() - c0) + " ms (group join included)");
    if (got != records) fail("expected " + records + " records, got " + got);
    System.out.println("smoke ok in " + (System.currentTimeMillis() - t0) + " ms");
  }

  private static void fail(String msg) {
    System.err.println("smoke FAILED: " + msg);
    System.exit(1);
  }
}
