// The ACLs of the project's secured broker (KAFKA_SECURE=1, scripts/kafka-secure.js), with Kafka's own
// Admin client over the plain listener (whose ANONYMOUS user is a super user). Java 11+ source-file mode:
//
//   java -cp '.kafka/lib-4.3.1/*' tools/kafka/SecureAcls.java 127.0.0.1:9092 USER...
//
// Each USER (a name, or a principal such as User:CN=flowgate-mtls) may use every topic and consumer group, except topics whose name starts with "denied."
// (a deny wins over an allow): the tests' way to see a topic refused. Idempotent producing needs
// nothing more: write access to a topic allows InitProducerId (KIP-679, Kafka 2.8).
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourceType;

public class SecureAcls {
  public static void main(String[] args) throws Exception {
    Properties props = new Properties();
    props.put("bootstrap.servers", args[0]);
    List<AclBinding> bindings = new ArrayList<>();
    for (int i = 1; i < args.length; i++) {
      String principal = args[i].startsWith("User:") ? args[i] : "User:" + args[i];
      AccessControlEntry allowAll = new AccessControlEntry(principal, "*", AclOperation.ALL, AclPermissionType.ALLOW);
      AccessControlEntry denyAll = new AccessControlEntry(principal, "*", AclOperation.ALL, AclPermissionType.DENY);
      bindings.add(new AclBinding(new ResourcePattern(ResourceType.TOPIC, "*", PatternType.LITERAL), allowAll));
      bindings.add(new AclBinding(new ResourcePattern(ResourceType.GROUP, "*", PatternType.LITERAL), allowAll));
      bindings.add(new AclBinding(new ResourcePattern(ResourceType.TOPIC, "denied.", PatternType.PREFIXED), denyAll));
    }
    try (Admin admin = Admin.create(props)) {
      admin.createAcls(bindings).all().get();
    }
    System.out.println("ACLs set for " + String.join(", ", List.of(args).subList(1, args.length)) + ": every topic and group, except topics denied.*");
  }
}
