import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import RecData
import RecModels
import RecStore
import Testing
import _RecTestSupport

@testable import RecServer

/// The page at `/`, loaded in headless Chromium against a live server over a SQLite store of the
/// checkerboard fixture and an item-kNN model; each item's title (its comment) is "Film <id>".
struct PageTests {
    let folder = temporaryDirectory("page")

    func app(apiKey: String) async throws -> some ApplicationProtocol {
        let (log, _) = Fixtures.checkerboard()
        let store = try SQLiteEventStore(path: folder.appendingPathComponent("events.sqlite").path)
        try await StoreImport.load(Dataset(name: "board", interactions: log), into: store, feedbackType: "like")
        try store.upsertItems(log.itemIDs.externalIDs.map { StoredItem(itemID: $0, comment: "Film \($0)") })
        let bundle = try ModelBundle.train(.itemKNN, dataset: Dataset(name: "board", interactions: log)) {
            TrainingRecord(
                dataset: "board", interactions: log.count, users: log.userCount, items: log.itemCount, seconds: $0)
        }
        let service = RecommendationService(
            store: store, registry: try ModelRegistry(bundle: bundle))
        var configuration = ServerConfiguration()
        configuration.apiKey = apiKey
        return Application(router: RecKitServer.makeRouter(service: service, configuration: configuration))
    }

    /// The page at `/`, loaded in headless Chromium against a live server: it shows the model
    /// card, the user's history, recommendations with their reasons and similar items, each by
    /// title, and finds items by part of their title.
    @Test func thePageShowsHistoryRecommendationsReasonsAndTheModelInChromium() async throws {
        let app = try await app(apiKey: "secret")
        try await app.test(.live) { client in
            try await client.execute(uri: "/", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType]?.hasPrefix("text/html") == true)
            }
            let port = try #require(client.port)
            let page = try #require(URL(string: "http://127.0.0.1:\(port)/?user=u0-0&key=secret"))
            let shot = artifactsDirectory().appendingPathComponent("server-page.png")
            let rendered = try await Task.detached {
                try Chromium.render(page, screenshot: shot, waitMilliseconds: 8000)
            }
            .value
            let dom = rendered.dom
            #expect(dom.contains("data-ready=\"1\""), "\(dom.suffix(600))")
            #expect(dom.contains("itemknn · 24 users · 24 items"))
            // The top recommendation is the block's withheld item, with history items as reasons.
            #expect(dom.contains("data-item=\"i0-0\""))
            #expect(dom.contains("because of Film i0-"))
            // History and similar items by title, not bare id.
            #expect(dom.contains("Film i0-1 (like)"), "\(dom.suffix(1500))")
            #expect(!dom.contains(">i0-1 (like)"))
            let similar = try #require(dom.range(of: "id=\"similar\"")).upperBound
            #expect(dom[similar...].contains("<li>Film i0-"))
            #expect(!dom.contains("class=\"error\">4"))
            #expect(rendered.screenshotBytes > 10_000)

            // Typing part of a title (the page's find box, filled from `find=`) lists the matches
            // as links that open the item.
            let find = try #require(URL(string: "http://127.0.0.1:\(port)/?find=film%20I2-3&key=secret"))
            let found = try await Task.detached {
                try Chromium.render(
                    find, screenshot: artifactsDirectory().appendingPathComponent("server-find.png"),
                    waitMilliseconds: 8000)
            }
            .value.dom
            #expect(found.contains("href=\"?item=i2-3&amp;key=secret\""), "\(found.suffix(1500))")
            #expect(found.contains(">Film i2-3</a>"))
            #expect(!found.contains(">Film i2-2</a>"))
        }
    }
}
