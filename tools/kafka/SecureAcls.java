// The ACLs of the project's secured broker (KAFKA_SECURE=1, scripts/kafka-secure.js), with Kafka's own
// Admin client over the plain listener (whose ANONYMOUS user is a super user). Java 11+ source-file mode:
//
//   java -cp '.kafka/lib-4.3.1/*' tools/kafka/SecureAcls.java 127.0.0.1:9092 USER
//
// USER may use every topic and consumer group, except topics whose name starts with "denied."
// (a deny wins over an allow): the tests' way to see a topic refused. Idempotent producing needs
// nothing more: write access to a topic allows InitProducerId (KIP-679, Kafka 2.8).
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
    String principal = args[1].startsWith("User:") ? args[1] : "User:" + args[1];
    AccessControlEntry allowAll = new AccessControlEntry(principal, "*", AclOperation.ALL, AclPermissionType.ALLOW);
    AccessControlEntry denyAll = new AccessControlEntry(principal, "*", AclOperation.ALL, AclPermissionType.DENY);
    try (Admin admin = Admin.create(props)) {
      admin.createAcls(List.of(
        new AclBinding(new ResourcePattern(ResourceType.TOPIC, "*", PatternType.LITERAL), allowAll),
        new AclBinding(new ResourcePattern(ResourceType.GROUP, "*", PatternType.LITERAL), allowAll),
        new AclBinding(new ResourcePattern(ResourceType.TOPIC, "denied.", PatternType.PREFIXED), denyAll)
      )).all().get();
    }
    System.out.println("ACLs set for " + principal + ": every topic and group, except topics denied.*");
  }
}
