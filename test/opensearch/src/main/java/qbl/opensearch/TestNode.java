package qbl.opensearch;

import static org.codelibs.opensearch.runner.OpenSearchRunner.newConfigs;

import java.util.concurrent.CountDownLatch;

import org.codelibs.opensearch.runner.OpenSearchRunner;

/**
 * Starts one OpenSearch node on 127.0.0.1 and keeps it running until the process is signalled.
 * Usage: TestNode BASE_PATH HTTP_PORT. scripts/opensearch-up.sh runs it; scripts/opensearch-down.sh stops it.
 */
public final class TestNode {
    private TestNode() {
    }

    public static void main(final String[] args) throws Exception {
        if (args.length != 2) {
            System.err.println("usage: TestNode BASE_PATH HTTP_PORT");
            System.exit(2);
        }
        final String basePath = args[0];
        final int httpPort = Integer.parseInt(args[1]);

        final OpenSearchRunner runner = new OpenSearchRunner();
        final CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                runner.close();
            } catch (final Exception e) {
                e.printStackTrace();
            } finally {
                stopped.countDown();
            }
        }));

        runner.onBuild((number, settings) -> {
            // Loopback only: the node is for this machine's tests, nobody else's.
            settings.put("network.host", "127.0.0.1");
            settings.put("http.port", String.valueOf(httpPort));
            // Transport stays on loopback too; a range avoids clashing with another local node.
            settings.put("transport.port", "9300-9399");
            settings.put("discovery.type", "single-node");
            // A nearly full test disk must not flip indices to read-only mid-suite.
            settings.put("cluster.routing.allocation.disk.threshold_enabled", false);
            settings.put("action.destructive_requires_name", false);
        }).build(newConfigs().basePath(basePath).numOfNode(1).clusterName("qbl-test").printOnFailure());

        runner.ensureGreen();
        System.out.println("qbl-test-node ready on http://127.0.0.1:" + httpPort);
        stopped.await();
    }
}
