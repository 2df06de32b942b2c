/// The choice clients and brokers both make of where a call goes: among the candidates that
/// can take it (`score` is nil for one that cannot), one this call has not tried before one
/// it has, then the one with the fewest calls outstanding. The scan starts at a random place
/// (`random`), so ties, common when sequential callers leave every candidate at zero, spread
/// evenly whatever the callers' pattern.
@inline(__always)
func leastLoaded<Candidate>(_ candidates: [Candidate], random: UInt64,
                            score: (Candidate) -> (tried: Bool, outstanding: Int)?) -> Candidate? {
    var best: Candidate?
    var bestScore = (tried: true, outstanding: Int.max)
    let count = candidates.count
    let start = count > 1 ? Int(random % UInt64(count)) : 0
    for offset in 0..<count {
        let candidate = candidates[(start &+ offset) % count]
        guard let candidateScore = score(candidate) else { continue }
        if best == nil || (!candidateScore.tried && bestScore.tried)
            || (candidateScore.tried == bestScore.tried && candidateScore.outstanding < bestScore.outstanding) {
            best = candidate
            bestScore = candidateScore
        }
    }
    return best
}
