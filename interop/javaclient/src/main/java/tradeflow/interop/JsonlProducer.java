package tradeflow.interop;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.Future;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Produces the records of a JSONL file, in order, with a plain Java producer:
 * default partitioner (murmur2 of the key; sticky for null keys), acks=all,
 * idempotent. One record per line:
 *
 * <pre>{"topic":"users","key":"User_1"|null,"value":"{...}"|null,"timestamp":1700000000000}</pre>
 *
 * A null or missing value is a tombstone; a value that is a JSON object or
 * array is sent as its compact JSON text; a missing timestamp means "now".
 * With --offsets, prints "topic partition offset" per record in input order.
 *
 * <p>Usage: JsonlProducer [--offsets] BOOTSTRAP_SERVERS FILE|-
 */
public final class JsonlProducer {
  public static void main(String[] args) throws Exception {
    boolean printOffsets = args.length > 0 && args[0].equals("--offsets");
    int a = printOffsets ? 1 : 0;
    if (args.length - a != 2) {
      System.err.println("usage: JsonlProducer [--offsets] BOOTSTRAP_SERVERS FILE|-");
      System.exit(2);
    }
    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, args[a]);
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
    p.put(ProducerConfig.LINGER_MS_CONFIG, 5);
    p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());

    ObjectMapper json = new ObjectMapper();
    List<Future<RecordMetadata>> sent = new ArrayList<>();
    long start = System.nanoTime();
    try (BufferedReader in = open(args[a + 1]);
        KafkaProducer<String, String> producer = new KafkaProducer<>(p)) {
      String line;
      int lineNo = 0;
      while ((line = in.readLine()) != null) {
        lineNo++;
        if (line.isBlank()) continue;
        JsonNode r = json.readTree(line);
        String topic = r.path("topic").asText("");
        if (topic.isEmpty()) throw new IllegalArgumentException("line " + lineNo + ": no topic");
        String key = text(r.get("key"));
        String value = text(r.get("value"));
        JsonNode ts = r.get("timestamp");
        Long timestamp = ts == null || ts.isNull() ? null : ts.asLong();
        sent.add(producer.send(new ProducerRecord<>(topic, null, timestamp, key, value)));
      }
      producer.flush();
      for (Future<RecordMetadata> f : sent) {
        RecordMetadata m = f.get(); // throws if the send failed
        if (printOffsets) System.out.println(m.topic() + " " + m.partition() + " " + m.offset());
      }
    }
    System.err.printf(
        "javaclient: produced %d records in %d ms%n",
        sent.size(), (System.nanoTime() - start) / 1_000_000);
  }

  private static String text(JsonNode n) {
    if (n == null || n.isNull()) return null;
    return n.isContainerNode() ? n.toString() : n.asText();
  }

  private static BufferedReader open(String path) throws Exception {
    return path.equals("-")
        ? new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))
        : Files.newBufferedReader(Path.of(path), StandardCharsets.UTF_8);
  }
}
