import Foundation
import Testing
import _RecTestSupport

@testable import RecData

/// Baskets and the `next-basket` split (issue 44).
struct BasketTests {
    let folder = temporaryDirectory("baskets")

    @Test func aBasketColumnGroupsEventsAndBasketsFollowTheirEarliestTime() throws {
        // u1's order o2 starts before o1 does; u2 reuses the value "o1" for a basket of its own.
        let text = """
            user_id,item_id,order_id,timestamp
            u1,a,o1,50
            u1,b,o2,10
            u1,c,o1,55
            u1,a,o2,11
            u2,a,o1,1
            u1,d,o3,90
            """
        let path = writeFile(folder, "orders.csv", text + "\n")
        var options = LoadOptions()
        options.basketField = "order_id"
        let log = try Dataset.load(path: path, options: options).interactions
        let items = log.basketsByUser().map { $0.map { $0.map { log.itemIDs[log.items[$0]] } } }
        #expect(items == [[["b", "a"], ["a", "c"], ["d"]], [["a"]]])
        #expect(log.basketNumbers() == [1, 0, 1, 0, 0, 2])
        // A basket column that is not there is an error naming it.
        options.basketField = "basket"
        #expect(throws: DatasetError.self) { try Dataset.load(path: path, options: options) }
    }

    @Test func withoutABasketColumnOneTimestampIsOneBasket() throws {
        let log = InteractionLog(
            pairs: [("u", "a"), ("u", "b"), ("u", "c"), ("v", "a")], timestamps: [5, 5, 7, 5])
        #expect(log.basketsByUser() == [[[0, 1], [2]], [[3]]])
        let untimed = InteractionLog(pairs: [("u", "a"), ("u", "b")])
        #expect(untimed.basketsByUser() == [[[0], [1]]])
    }

    @Test func nextBasketHoldsOutTheLastTwoBasketsOfUsersWithThree() throws {
        // u: 4 baskets (times 1, 2, 3, 4; basket 3 has two items); v: 2 baskets, trains only.
        let log = InteractionLog(
            pairs: [("u", "a"), ("u", "b"), ("u", "c"), ("u", "d"), ("u", "a"), ("v", "a"), ("v", "b")],
            timestamps: [1, 2, 3, 3, 4, 1, 2])
        let split = try DataSplit.make(.nextBasket, log: log)
        #expect(split.train.sorted() == [0, 1, 5, 6])
        #expect(split.validation.sorted() == [2, 3])
        #expect(split.test == [4])
        let three = InteractionLog(pairs: [("u", "a"), ("u", "b"), ("u", "c")], timestamps: [1, 2, 3])
        let minimal = try DataSplit.make(.nextBasket, log: three)
        #expect((minimal.train, minimal.validation, minimal.test) == ([0], [1], [2]))
    }

    @Test func statsCountRepeatEventsAndRepeatTargets() {
        // u: baskets {a, b}, {a, c}, {b, d}: events 4 and 5 repeat (a, b); the last basket's
        // items b (bought before) and d (new): share 1/2. v: one event, no repeat figures.
        let log = InteractionLog(
            pairs: [("u", "a"), ("u", "b"), ("u", "a"), ("u", "c"), ("u", "b"), ("u", "d"), ("v", "a")],
            timestamps: [1, 1, 2, 2, 3, 3, 1])
        let repeats = DataStatistics.repeats(log)
        #expect(repeats.repeatEvents == 2)
        #expect(repeats.baskets == 4)
        #expect(repeats.usersWithTwoBaskets == 1 && repeats.lastBasketRepeatShare == 0.5)
        // u's last event (d) is new.
        #expect(repeats.usersWithTwoEvents == 1 && repeats.repeatLastEvents == 0)
    }
}
