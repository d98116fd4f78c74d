import Raft
import Simulation
import Testing

@Suite("Regression scenarios")
struct ScenarioTests {
    /// Every named scenario holds every invariant and its own expectations, on several seeds.
    @Test(arguments: RegressionScenario.allCases)
    func scenarioHolds(scenario: RegressionScenario) {
        for seed in UInt64(1)...8 {
            let outcome = scenario.run(seed: seed)
            #expect(
                outcome.passed,
                "\(scenario.rawValue) seed \(seed): \(outcome.summary) \(outcome.violations.map(\.description))")
        }
    }
}
